using System.Text;

namespace PandaFuzz.Cmd;

/// <summary>
/// Reads a line at the interactive prompt with history (up/down), left/right, backspace and delete. When input is
/// not a terminal (a script piping commands in) it reads plain lines.
/// </summary>
public sealed class LineEditor(List<string> history)
{
    public string? ReadLine(string prompt)
    {
        Console.Write(prompt);
        if (Console.IsInputRedirected)
        {
            return Console.ReadLine();
        }

        var line = new StringBuilder();
        var cursor = 0;
        var recalled = history.Count;
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            switch (key.Key)
            {
                case ConsoleKey.Enter:
                    Console.WriteLine();
                    return line.ToString();
                case ConsoleKey.Backspace when cursor > 0:
                    line.Remove(--cursor, 1);
                    break;
                case ConsoleKey.Delete when cursor < line.Length:
                    line.Remove(cursor, 1);
                    break;
                case ConsoleKey.LeftArrow when cursor > 0:
                    cursor--;
                    break;
                case ConsoleKey.RightArrow when cursor < line.Length:
                    cursor++;
                    break;
                case ConsoleKey.Home:
                    cursor = 0;
                    break;
                case ConsoleKey.End:
                    cursor = line.Length;
                    break;
                case ConsoleKey.UpArrow when recalled > 0:
                    Recall(--recalled);
                    break;
                case ConsoleKey.DownArrow when recalled < history.Count:
                    recalled++;
                    Recall(recalled);
                    break;
                case ConsoleKey.D when key.Modifiers.HasFlag(ConsoleModifiers.Control) && line.Length == 0:
                    Console.WriteLine();
                    return null;
                default:
                    if (!char.IsControl(key.KeyChar))
                    {
                        line.Insert(cursor++, key.KeyChar);
                    }

                    break;
            }

            Redraw();
        }

        void Recall(int index)
        {
            line.Clear().Append(index < history.Count ? history[index] : "");
            cursor = line.Length;
        }

        void Redraw()
        {
            Console.Write($"\r\u001b[K{prompt}{line}");
            var back = line.Length - cursor;
            if (back > 0)
            {
                Console.Write($"\u001b[{back}D");
            }
        }
    }
}
