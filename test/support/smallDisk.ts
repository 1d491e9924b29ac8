/**
 * Test support: a folder on a tmpfs of a few kilobytes, so that a test meets a disk that
 * really is full (a short write, then ENOSPC) rather than a pretended error. Mounting needs
 * root and a kernel that allows it (as on CI's machine); where it cannot, the caller skips
 * with the reason this gives.
 */
import { execFileSync } from 'node:child_process';

/** tmpfs sizes are whole pages. */
function pages(bytes: number): number {
  return Math.ceil(bytes / 4096) * 4096;
}

/** Mounts a tmpfs of about `bytes` on `dir`: null when done, else why it cannot be done. */
export function mountSmallDisk(dir: string, bytes: number): string | null {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${pages(bytes)},mode=0700`, 'tmpfs', dir], {
      stdio: 'pipe',
    });
    return null;
  } catch (error) {
    return `cannot mount a small tmpfs here (${String(error).split('\n')[0]})`;
  }
}

/** Gives the tmpfs on `dir` room for about `bytes` in all. */
export function resizeSmallDisk(dir: string, bytes: number): void {
  execFileSync('mount', ['-o', `remount,size=${pages(bytes)}`, dir], { stdio: 'pipe' });
}

export function unmountSmallDisk(dir: string): void {
  execFileSync('umount', [dir], { stdio: 'pipe' });
}
