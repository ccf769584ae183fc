// The new-campaign form. It checks nothing itself beyond `required`: it uploads the build(s) and the seed corpus,
// posts the campaign to the API, and shows the API's problem (its detail and errors by field) beside the form.
import { ApiError, api } from '../api.js';
import { h } from '../dom.js';

export const once = true;
export const title = () => 'New campaign';

const ENGINES = [
  { name: 'libfuzzer', label: 'libFuzzer', hint: 'built with clang -fsanitize=fuzzer,address' },
  { name: 'aflplusplus', label: 'AFL++', hint: 'built with afl-clang-fast -fsanitize=fuzzer (AFL_USE_ASAN=1)' },
];

/** Uploads already made, by file, so a corrected form does not send the same build again. */
const uploaded = new WeakMap();
const createdListeners = [];
let form = null;

/** Calls `listener(campaignId)` once a campaign is created. */
export const onCreated = (listener) => createdListeners.push(listener);

function field(name, label, control, help) {
  const helpId = help ? `${name}-help` : null;
  control.id = name;
  control.name = name;
  if (helpId) control.setAttribute('aria-describedby', `${helpId} ${name}-error`);
  else control.setAttribute('aria-describedby', `${name}-error`);
  return h('div', { class: 'field', 'data-field': name },
    h('label', { for: name }, label),
    control,
    help ? h('p', { class: 'help', id: helpId }, help) : null,
    h('p', { class: 'field-error', id: `${name}-error` }));
}

const number = () => h('input', { type: 'number', inputmode: 'numeric' });

function engineFields() {
  return h('fieldset', { class: 'engines' },
    h('legend', null, 'Engines and target builds'),
    h('p', { class: 'help' }, 'One build per engine. With two engines the jobs take them in turn (an ensemble).'),
    ENGINES.map((engine) => {
      const checkbox = h('input', { type: 'checkbox', id: `use-${engine.name}`, name: 'engines', value: engine.name, checked: engine.name === 'libfuzzer' });
      const file = h('input', { type: 'file', required: engine.name === 'libfuzzer' });
      checkbox.addEventListener('change', () => {
        file.required = checkbox.checked;
      });
      return h('div', { class: 'engine' },
        h('div', { class: 'check' }, checkbox, h('label', { for: `use-${engine.name}` }, `Use ${engine.label}`)),
        field(`build-${engine.name}`, `${engine.label} build of the target`, file, engine.hint));
    }));
}

function build() {
  const element = h('form', { class: 'view create', 'data-view': 'new' },
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Overview'), ' / new campaign'),
    h('h1', null, 'New campaign'),
    h('div', { class: 'form-problem', id: 'form-problem', tabindex: -1 }),
    h('div', { class: 'card' },
      field('name', 'Name', h('input', { type: 'text', required: true, autocomplete: 'off' }), 'Letters, digits, space, ".", "_" or "-".'),
      engineFields(),
      h('div', { class: 'row' },
        field('jobs', 'Jobs', number(), 'Fuzzing jobs run in parallel on the bots.'),
        field('durationSeconds', 'Duration (seconds)', number(), 'How long each job fuzzes.')),
      h('details', { class: 'limits' },
        h('summary', null, 'Limits, dictionary and seed corpus'),
        h('div', { class: 'row' },
          field('memoryLimitMb', 'Memory limit (MB)', number(), 'Per fuzzer process; empty: 2048.'),
          field('timeoutMs', 'Timeout per input (ms)', number(), 'Empty: 1000.')),
        field('dictionary', 'Dictionary', h('textarea', { rows: 3, spellcheck: 'false', placeholder: 'kw="FUZ"' }), 'AFL/libFuzzer dictionary lines; optional.'),
        field('seedCorpus', 'Seed corpus', h('input', { type: 'file', accept: '.zip,.tar,.tgz,.tar.gz' }), 'A zip, tar or tar.gz of inputs; optional.'))),
    h('div', { class: 'buttons' },
      h('button', { type: 'submit', class: 'primary' }, 'Create campaign'),
      h('p', { class: 'progress', role: 'status', id: 'form-progress' })));
  element.addEventListener('submit', (event) => {
    event.preventDefault();
    submit(element);
  });
  return element;
}

/** The form, kept while the page lives: going to sign in and back keeps what was typed. */
export function render() {
  form ??= build();
  return form;
}

async function upload(file, route) {
  const known = uploaded.get(file);
  if (known) return known;
  const result = await api(`${route}?name=${encodeURIComponent(file.name)}`, { method: 'POST', body: file });
  uploaded.set(file, result.id);
  return result.id;
}

const integer = (element) => (element.value.trim() === '' ? undefined : Number(element.value));

/** Where an error of `field` (as the API names it) is shown. */
function slotOf(element, name) {
  const target = { targetId: 'build-libfuzzer', 'targets.libfuzzer': 'build-libfuzzer', 'targets.aflplusplus': 'build-aflplusplus', seedCorpusId: 'seedCorpus' }[name] ?? name;
  return element.querySelector(`[data-field="${CSS.escape(target)}"] .field-error`);
}

function clearProblems(element) {
  element.querySelector('#form-problem').replaceChildren();
  for (const slot of element.querySelectorAll('.field-error')) slot.replaceChildren();
  for (const control of element.querySelectorAll('[aria-invalid]')) control.removeAttribute('aria-invalid');
}

/** Shows the API's problem: its title and detail above the form, each field's message beside the field. */
function showProblem(element, error, step, fieldOf = (name) => name) {
  const problem = error instanceof ApiError ? error.problem : { title: 'Failed', detail: error.message };
  const errors = Object.entries(problem.errors ?? {});
  element.querySelector('#form-problem').replaceChildren(h('div', { class: 'problem', role: 'alert' },
    h('p', { class: 'problem-title' }, `${step}: ${problem.title ?? 'refused'}`),
    problem.detail && errors.length === 0 ? h('p', null, problem.detail) : null,
    errors.length ? h('ul', null, errors.map(([name, messages]) => h('li', { 'data-error-field': fieldOf(name) }, messages.join(' ')))) : null));
  for (const [name, messages] of errors) {
    const slot = slotOf(element, fieldOf(name));
    if (!slot) continue;
    slot.textContent = messages.join(' ');
    slot.parentElement.querySelector('input, textarea')?.setAttribute('aria-invalid', 'true');
  }
  element.querySelector('#form-problem').focus();
}

async function submit(element) {
  const control = (id) => element.querySelector(`#${id}`);
  const progress = element.querySelector('#form-progress');
  const button = element.querySelector('button[type=submit]');
  clearProblems(element);
  button.disabled = true;
  try {
    const targets = {};
    const engines = [];
    for (const engine of ENGINES) {
      const file = control(`build-${engine.name}`).files[0];
      if (!control(`use-${engine.name}`).checked) continue;
      engines.push(engine.name);
      if (!file) continue;
      progress.textContent = `Uploading the ${engine.label} build…`;
      try {
        targets[engine.name] = await upload(file, '/targets');
      } catch (error) {
        // The upload's own field (name, body) is the file input's.
        showProblem(element, error, `Uploading the ${engine.label} build`, () => `build-${engine.name}`);
        return;
      }
    }

    let seedCorpusId;
    const seed = control('seedCorpus').files[0];
    if (seed) {
      progress.textContent = 'Uploading the seed corpus…';
      try {
        seedCorpusId = await upload(seed, '/corpora');
      } catch (error) {
        showProblem(element, error, 'Uploading the seed corpus', () => 'seedCorpus');
        return;
      }
    }

    const request = {
      name: control('name').value,
      jobs: integer(control('jobs')),
      durationSeconds: integer(control('durationSeconds')),
      memoryLimitMb: integer(control('memoryLimitMb')),
      timeoutMs: integer(control('timeoutMs')),
      dictionary: control('dictionary').value === '' ? undefined : control('dictionary').value,
      seedCorpusId,
    };
    if (engines.length === 1) Object.assign(request, { engine: engines[0], targetId: targets[engines[0]] });
    else Object.assign(request, { targets, engines });

    progress.textContent = 'Creating the campaign…';
    let campaign;
    try {
      campaign = await api('/campaigns', { method: 'POST', json: request });
    } catch (error) {
      showProblem(element, error, 'Creating the campaign');
      return;
    }
    form = null;
    createdListeners.forEach((listener) => listener(campaign.id));
  } finally {
    button.disabled = false;
    progress.textContent = '';
  }
}
