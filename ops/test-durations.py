#!/usr/bin/env python3
"""Where a test run's time went: reads the .trx files `dotnet test --logger trx` wrote and prints each assembly's
summed test time and the slowest tests. Usage: ops/test-durations.py RESULTS_DIR [HOW_MANY]"""
import collections
import glob
import os
import sys
import xml.etree.ElementTree as ET

NS = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}


def seconds(duration):
    hours, minutes, rest = duration.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(rest)


def main():
    results_dir = sys.argv[1]
    how_many = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    tests = []
    per_assembly = collections.Counter()
    for path in sorted(glob.glob(os.path.join(results_dir, "**", "*.trx"), recursive=True)):
        root = ET.parse(path).getroot()
        storage = {d.get("id"): os.path.basename(d.get("storage") or "")
                   for d in root.iterfind(".//t:UnitTest", NS)}
        for result in root.iterfind(".//t:UnitTestResult", NS):
            if result.get("duration") is None:
                continue
            took = seconds(result.get("duration"))
            assembly = storage.get(result.get("testId"), "?").removesuffix(".dll")
            per_assembly[assembly] += took
            tests.append((took, result.get("outcome"), result.get("testName")))
    if not tests:
        print("test-durations: no .trx results under " + results_dir)
        return
    print("test time by assembly (summed; tests of one assembly can overlap):")
    for assembly, took in per_assembly.most_common():
        print(f"  {took:8.1f} s  {assembly}")
    print(f"the {how_many} slowest tests:")
    for took, outcome, name in sorted(tests, reverse=True)[:how_many]:
        print(f"  {took:8.1f} s  {outcome:8}  {name}")


if __name__ == "__main__":
    main()
