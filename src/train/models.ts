// Every model wgrad trains, by kind: the registry the CLI and the pages
// look descriptions up in (train/model-description.ts says what one holds).
// `wgrad eval` finds a checkpoint's generator here by the checkpoint's
// `wgrad.model`, so a new generative model is scored once it is listed.
import { DCGAN_MODEL } from './dcgan';
import { VAE_MODEL } from './vae';
import { DIFFUSION_MODEL } from './diffusion';
import { CLASSIFIER_MODEL } from './classifier';
import type { AnyModelDescription, ModelKindName } from './model-description';

export const MODELS: Readonly<Record<ModelKindName, AnyModelDescription>> = {
  dcgan: DCGAN_MODEL,
  vae: VAE_MODEL,
  diffusion: DIFFUSION_MODEL,
  classifier: CLASSIFIER_MODEL,
};

/** The description of `kind` (a checkpoint's wgrad.model), or undefined for a kind wgrad does not know. */
export function modelOf(kind: string): AnyModelDescription | undefined {
  return Object.hasOwn(MODELS, kind) ? MODELS[kind as ModelKindName] : undefined;
}

/** The models that draw images from a checkpoint (what `wgrad eval` scores), in registry order. */
export function generativeModels(): AnyModelDescription[] {
  return Object.values(MODELS).filter((model) => model.generate !== undefined);
}
