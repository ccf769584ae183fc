// The sign-in form: the operator pastes a bearer token, kept in this tab's sessionStorage only.
import { h } from '../dom.js';

/** The form, showing why it is asked for (the API's 401 problem, if any); `submit(token)` is called with the token. */
export function signIn(error, submit) {
  const input = h('input', {
    id: 'token', name: 'token', type: 'password', required: true, autocomplete: 'off', spellcheck: 'false',
    'aria-describedby': 'token-help',
  });
  const form = h('form', { class: 'card signin', 'data-view': 'signin' },
    h('h1', null, 'Sign in'),
    error
      ? h('div', { class: 'problem', role: 'alert' },
        h('p', { class: 'problem-title' }, error.problem.title || 'Refused'),
        h('p', null, error.message))
      : h('p', null, 'Creating, stopping and minimizing need an API token; reading may too, as the master is configured.'),
    h('label', { for: 'token' }, 'API token'),
    input,
    h('p', { id: 'token-help', class: 'help' },
      'A token from PANDAFUZZ_API_TOKENS or PANDAFUZZ_API_TOKEN_FILE, or the one the master generated in ',
      h('code', null, '<data dir>/api-token'),
      '. It stays in this browser tab only (sessionStorage) and goes to the API as a bearer token.'),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit(input.value.trim());
  });
  return form;
}
