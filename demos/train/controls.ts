// The settings panel of a training page: data, model size, learning rate
// and the page's extra settings; Start / Pause / Reset, the checkpoint and
// photo buttons; the status and stats lines. It builds the DOM, reads and
// shows the settings and says which controls are live; what a button does
// is the page's (ControlActions), so this file never touches a model.
import { el } from '../common/page';
import { DATA_LABELS, choiceOf, type DataChoice } from './data';
import { configNames, defaultLr, type ModelKind, type TrainConfigBase, type TrainerLike } from './model-kind';

/** What the buttons and inputs ask the page to do. */
export interface ControlActions {
  start(): void;
  fromPretrained(): void;
  pause(): void;
  reset(): void;
  download(): void;
  loadCheckpoint(file: File): void;
  addPhotos(files: File[]): void;
}

/** What the settings need to know of the model. */
type ControlledKind = ModelKind<TrainerLike>;

/** The settings a fresh model is built from. */
export interface ChosenSettings {
  configName: string;
  choice: DataChoice;
  lr: number;
  extra: Record<string, string>;
}

function labelled(text: string, control: HTMLElement): HTMLLabelElement {
  const label = el('label', {}, text);
  label.append(control);
  return label;
}

/** A file input behind a visible button (the input itself is hidden). */
function fileButton(text: string, input: HTMLInputElement, take: (files: File[]) => void): HTMLButtonElement {
  const button = el('button', { type: 'button' }, text);
  button.addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    const files = Array.from(input.files ?? []);
    input.value = '';
    if (files.length) take(files);
  });
  return button;
}

export class TrainingControls {
  readonly section: HTMLElement;
  private readonly dataSelect: HTMLSelectElement;
  private readonly configSelect: HTMLSelectElement;
  private readonly lrInput: HTMLInputElement;
  private readonly extraSelects = new Map<string, HTMLSelectElement>();
  private readonly startButton: HTMLButtonElement;
  private readonly pauseButton: HTMLButtonElement;
  private readonly downloadButton: HTMLButtonElement;
  private readonly photoNote: HTMLElement;
  private readonly status: HTMLElement;
  private readonly stats: HTMLElement;

  constructor(kind: ControlledKind, onCpu: boolean, params: URLSearchParams, actions: ControlActions) {
    this.section = el('section', { class: 'panel train-settings', 'aria-label': 'Training settings' });
    const row = el('div', { class: 'controls' });
    this.dataSelect = el('select', { 'data-testid': 'data' });
    for (const choice of Object.keys(DATA_LABELS) as DataChoice[]) {
      const option = el('option', { value: choice }, DATA_LABELS[choice]);
      if (choice === 'photos') option.disabled = true;
      this.dataSelect.append(option);
    }
    const initialData = params.get('data');
    this.dataSelect.value = initialData === 'mnist' || initialData === 'shapes' ? initialData : 'shapes';
    const photoInput = el('input', { type: 'file', accept: 'image/*', multiple: '', class: 'visually-hidden', 'data-testid': 'photo-input' });
    const photoButton = fileButton('Add photos…', photoInput, (files) => actions.addPhotos(files));

    this.configSelect = el('select', { 'data-testid': 'config' });
    const names = configNames(kind);
    for (const name of names) this.configSelect.append(el('option', { value: name }, name));
    const wanted = params.get('config');
    this.configSelect.value = wanted && names.includes(wanted) ? wanted : onCpu ? 'tiny' : 'small';

    this.lrInput = el('input', { type: 'number', min: '0', step: 'any', inputmode: 'decimal', 'data-testid': 'lr' });
    this.lrInput.value = params.get('lr') ?? String(defaultLr(kind, this.configSelect.value));
    this.configSelect.addEventListener('change', () => {
      this.lrInput.value = String(defaultLr(kind, this.configSelect.value));
    });

    row.append(labelled('Data', this.dataSelect), photoButton, photoInput, labelled('Model size', this.configSelect), labelled('Learning rate', this.lrInput));
    for (const extra of kind.extraSettings?.(onCpu, params) ?? []) {
      const select = el('select', { 'data-testid': extra.name });
      for (const [value, text] of extra.choices) select.append(el('option', { value }, text));
      select.value = extra.initial;
      this.extraSelects.set(extra.name, select);
      row.append(labelled(extra.label, select));
    }
    // Settings take effect on a fresh model: changing one while paused starts over.
    for (const control of this.settingControls()) control.addEventListener('change', () => actions.reset());

    const buttons = el('div', { class: 'controls buttons' });
    this.startButton = el('button', { type: 'button', class: 'primary', 'data-testid': 'start' }, 'Start');
    this.pauseButton = el('button', { type: 'button', 'data-testid': 'pause' }, 'Pause');
    const resetButton = el('button', { type: 'button', 'data-testid': 'reset' }, 'Reset');
    this.downloadButton = el('button', { type: 'button', 'data-testid': 'download' }, 'Download checkpoint');
    const pretrainedButton = el('button', { type: 'button', 'data-testid': 'from-pretrained' }, 'Start from pretrained');
    pretrainedButton.title = 'Load the model wgrad ships for this data (on photos: fine-tune the shapes model) and train on from it';
    const loadInput = el('input', { type: 'file', accept: '.safetensors', class: 'visually-hidden', 'data-testid': 'checkpoint-input' });
    const loadButton = fileButton('Load checkpoint…', loadInput, ([file]) => actions.loadCheckpoint(file));
    this.startButton.addEventListener('click', () => actions.start());
    pretrainedButton.addEventListener('click', () => actions.fromPretrained());
    this.pauseButton.addEventListener('click', () => actions.pause());
    resetButton.addEventListener('click', () => actions.reset());
    this.downloadButton.addEventListener('click', () => actions.download());
    buttons.append(this.startButton, pretrainedButton, this.pauseButton, resetButton, this.downloadButton, loadButton, loadInput);

    this.photoNote = el('p', { class: 'note' }, 'Drop photos anywhere on the page to train on them (centre-cropped and resized to the model size).');
    this.status = el('p', { class: 'status', role: 'status', 'aria-live': 'polite', 'data-testid': 'status' }, 'Press Start to build the model and train it in this tab.');
    this.stats = el('p', { class: 'stats', 'data-testid': 'stats' });
    this.section.append(row, buttons, this.photoNote, this.status, this.stats);
  }

  /** The settings as chosen; throws on a learning rate that is not a number > 0. */
  chosen(): ChosenSettings {
    const lr = Number(this.lrInput.value);
    if (!(lr > 0)) throw new Error(`the learning rate must be a number > 0, got '${this.lrInput.value}'`);
    return {
      configName: this.configSelect.value,
      choice: this.dataSelect.value as DataChoice,
      lr,
      extra: Object.fromEntries([...this.extraSelects].map(([name, select]) => [name, select.value])),
    };
  }

  dataChoice(): DataChoice {
    return this.dataSelect.value as DataChoice;
  }

  /** Shows the settings a loaded model was trained with (`extra`: the page's own, by name). */
  showTrained(config: TrainConfigBase, extra: Record<string, string>): void {
    this.configSelect.value = config.configName;
    const choice = choiceOf(config.data);
    if (choice === 'photos') this.photosOption().disabled = false;
    this.dataSelect.value = choice;
    this.lrInput.value = String(config.lr);
    for (const [name, value] of Object.entries(extra)) {
      const select = this.extraSelects.get(name);
      if (select) select.value = value;
    }
  }

  /**
   * Shows how many photos the page holds and the files it could not read.
   * Returns true when it switched the data to the photos (the model must start over).
   */
  showPhotos(count: number, skipped: string[]): boolean {
    const option = this.photosOption();
    option.disabled = count === 0;
    option.textContent = `${DATA_LABELS.photos} (${count})`;
    this.photoNote.textContent = `${count} photo${count === 1 ? '' : 's'} loaded` +
      (skipped.length ? `; could not read ${skipped.join(', ')}` : '') + '. Drop more to add them.';
    if (count === 0 || this.dataSelect.value === 'photos') return false;
    this.dataSelect.value = 'photos';
    return true;
  }

  /** Which controls are live: `step` is the model's, null without one. */
  showState(running: boolean, starting: boolean, step: number | null): void {
    this.startButton.disabled = running || starting;
    this.pauseButton.disabled = !running;
    this.downloadButton.disabled = running || step === null;
    this.startButton.textContent = step !== null && step > 0 ? 'Resume' : 'Start';
    for (const control of this.settingControls()) control.disabled = running;
  }

  setStatus(text: string): void {
    this.status.textContent = text;
    this.status.classList.remove('error');
  }

  showError(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    console.warn(error);
    this.status.textContent = message;
    this.status.classList.add('error');
  }

  statusText(): string | null {
    return this.status.textContent;
  }

  showStats(line: string): void {
    this.stats.textContent = line;
  }

  private settingControls(): (HTMLSelectElement | HTMLInputElement)[] {
    return [this.dataSelect, this.configSelect, this.lrInput, ...this.extraSelects.values()];
  }

  private photosOption(): HTMLOptionElement {
    return this.dataSelect.querySelector<HTMLOptionElement>('option[value=photos]')!;
  }
}
