/**
 * Files dropped on the page: plain files, or the files of a dropped folder (one level deep: a model
 * folder is flat). The drop's items must be read before the handler first awaits, so the entries are
 * taken at once and their files read afterwards.
 */

/** The files of a drop, a dropped folder's files included. */
export function droppedFiles(data: DataTransfer): Promise<File[]> {
  const entries = Array.from(data.items, (item) => item.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  const plain = Array.from(data.files);
  return entries.length === 0 ? Promise.resolve(plain) : filesOf(entries);
}

async function filesOf(entries: readonly FileSystemEntry[]): Promise<File[]> {
  const files: File[] = [];
  for (const entry of entries) {
    if (isFile(entry)) files.push(await fileOf(entry));
    else if (isDirectory(entry)) for (const child of await childrenOf(entry)) if (isFile(child)) files.push(await fileOf(child));
  }
  return files;
}

function isFile(e: FileSystemEntry): e is FileSystemFileEntry {
  return e.isFile;
}

function isDirectory(e: FileSystemEntry): e is FileSystemDirectoryEntry {
  return e.isDirectory;
}

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/** All entries of a folder (a reader hands them out in batches until an empty one). */
async function childrenOf(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader();
  const all: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}
