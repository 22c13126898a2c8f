// Checkpoints in and out of a training page: download the model as
// .safetensors, load one (a file picked or dropped, the CLI's or this
// page's), start from the pretrained model wgrad ships, or fine-tune it on
// the visitor's photos; and the base64 the tests move bytes in. A load
// replaces the model through the slot's lock, so it never lands mid-step,
// and a checkpoint that fails to load leaves the old model in place.
import { Loader } from '../../src/data/dataset';
import type { DecodedImage } from '../../src/data/images';
import { el } from '../common/page';
import { fetchPretrained, pretrainedFor } from '../pretrained';
import type { TrainingControls } from './controls';
import { DATA_LABELS, openPageDataset, specOf } from './data';
import type { ModelKind, TrainerLike } from './model-kind';
import type { ModelSlot } from './model-slot';

/** What checkpoint I/O uses of the page. */
export interface CheckpointHost<T extends TrainerLike> {
  kind: ModelKind<T>;
  slot: ModelSlot<T>;
  controls: TrainingControls;
  /** the visitor's photos, as they are when a load runs */
  photos: readonly DecodedImage[];
  /** stops training after the step in progress */
  pause(): Promise<void>;
  /** shows the model just put in the slot: new chart and stats, `status`, its first sample grid */
  adopt(status: string): Promise<void>;
}

export function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(binary);
}

export class CheckpointIO<T extends TrainerLike> {
  constructor(private readonly host: CheckpointHost<T>) {}

  /** The model's checkpoint, taken between steps. */
  async bytes(): Promise<Uint8Array> {
    const trainer = this.host.slot.require();
    return this.host.slot.exclusive(() => trainer.checkpoint());
  }

  /** Saves the checkpoint as KIND-CONFIG-stepN.safetensors through the browser's download. */
  async download(): Promise<void> {
    const bytes = await this.bytes();
    const trainer = this.host.slot.require();
    const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
    const link = el('a', { href: url, download: `${this.host.kind.model.kind}-${trainer.config.configName}-step${trainer.step}.safetensors` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  async loadFile(file: File): Promise<void> {
    await this.load(new Uint8Array(await file.arrayBuffer()), file.name);
  }

  /** Replaces the model with a checkpoint's (the CLI's or this page's), ready to sample or train on. */
  async load(bytes: Uint8Array, source: string): Promise<void> {
    const { kind, slot, controls } = this.host;
    await this.host.pause();
    await slot.replace(() => kind.model.restore(bytes, source));
    const trainer = slot.require();
    const { config } = trainer;
    controls.showTrained(config, kind.extraOf?.(trainer) ?? {});
    await this.host.adopt(`Loaded ${source}: ${kind.model.kind} '${config.configName}' at step ${trainer.step}, trained on ${config.data}.`);
  }

  /**
   * The pretrained model for the chosen data, in place of the current one:
   * on shapes or digits the shipped checkpoint itself (training goes on
   * from it); on photos, where the kind can fine-tune, a new run on the
   * photos that starts from the shapes model's weights.
   */
  async fromPretrained(): Promise<void> {
    const { kind, controls } = this.host;
    const choice = controls.dataChoice();
    const photos = choice === 'photos';
    const name = pretrainedFor(kind.model.kind, photos ? 'shapes' : choice);
    if (!name) throw new Error(`wgrad ships no pretrained ${kind.model.kind} for ${DATA_LABELS[choice]}`);
    controls.setStatus(`Fetching the pretrained ${name}…`);
    const bytes = await fetchPretrained(name);
    if (!photos || !kind.model.fineTune) {
      await this.load(bytes, `pretrained ${name}`);
      return;
    }
    await this.fineTune(bytes, name);
  }

  /** A new run on the photos from the pretrained `name`'s weights (the kind has fineTune). */
  private async fineTune(bytes: Uint8Array, name: string): Promise<void> {
    const { kind, slot, photos } = this.host;
    await this.host.pause();
    const source = kind.model.restore(bytes, `pretrained ${name}`);
    try {
      const { imageSize, channels, batch } = source.config;
      const dataset = await openPageDataset({ choice: 'photos', size: imageSize, channels, split: 'train', seed: 0 }, photos);
      if (dataset.count < 2) throw new Error('fine-tuning needs at least 2 photos');
      await slot.replace(
        () => kind.model.fineTune!(source, { data: specOf('photos'), batch: Math.min(batch, dataset.count), seed: 0 }),
        (tuned) => new Loader(dataset, { batchSize: tuned.config.batch, seed: tuned.config.seed, flip: true }),
      );
    } finally {
      source.dispose();
    }
    await this.host.adopt(`Fine-tuning the pretrained ${name} on ${photos.length} photos.`);
  }
}
