// Files dropped anywhere on a training page: a checkpoint (.safetensors)
// is loaded, anything else is taken as photos to train on. While files are
// dragged over the page the body has the class 'dropping' (training.css
// outlines the page), so the visitor sees where to let go.

export interface DropActions {
  loadCheckpoint(file: File): void;
  addPhotos(files: File[]): void;
}

export function listenForDrops(actions: DropActions): void {
  document.addEventListener('dragover', (event) => {
    if (event.dataTransfer?.types.includes('Files')) {
      event.preventDefault();
      document.body.classList.add('dropping');
    }
  });
  document.addEventListener('dragleave', (event) => {
    if (event.relatedTarget === null) document.body.classList.remove('dropping');
  });
  document.addEventListener('drop', (event) => {
    document.body.classList.remove('dropping');
    const files = Array.from(event.dataTransfer?.files ?? []);
    if (files.length === 0) return;
    event.preventDefault();
    const checkpoint = files.find((f) => f.name.endsWith('.safetensors'));
    if (checkpoint) actions.loadCheckpoint(checkpoint);
    else actions.addPhotos(files);
  });
}
