import { readFile } from 'node:fs/promises';
import { RadiolensError } from '../../foundation/core/index.js';
import { decodeFrame, parseDicom, type DicomInstance } from '../../foundation/dicom/index.js';
import { decodeRaster } from '../../foundation/raster/index.js';
import { toDisplayGrey } from './displayGrey.js';
import type { GreyImage, WindowingRule } from './types.js';

/**
 * Decode an image to display grey: PNG/JPEG as x/max (as import-images converts them), DICOM
 * through Modality LUT → VOI LUT → photometric. No intended-use gate of its own; a caller
 * that needs one (scoreImages) passes `beforeDecode`, which sees the parsed DICOM dataset
 * and throws to refuse the image before any pixel is decoded. The one image loader for the
 * OOD check, faithfulness and validation scoring, so they all see the same pixels.
 * `windowing`: the model package's rule for DICOM images (manifest input.windowing).
 */
export async function readGreyImage(
  path: string,
  options: { beforeDecode?: (instance: DicomInstance) => void; windowing?: WindowingRule } = {},
): Promise<{ grey: GreyImage; kind: string; uid: string | null }> {
  const bytes = await readFile(path).catch((cause: unknown) => {
    throw new RadiolensError('E_IO', `cannot read ${path}`, { subject: path, cause });
  });
  const png = bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  if (png || (bytes[0] === 0xff && bytes[1] === 0xd8)) {
    const raster = decodeRaster(bytes, path);
    const max = raster.bitDepth === 8 ? 255 : 65535;
    const data = new Float32Array(raster.samples.length);
    for (let i = 0; i < data.length; i++) data[i] = raster.samples[i]! / max;
    return {
      grey: { width: raster.width, height: raster.height, data },
      kind: 'raster',
      uid: null,
    };
  }
  const instance = parseDicom(bytes, path);
  options.beforeDecode?.(instance);
  const ds = instance.dataset;
  const kind = [ds['Modality'], ds['BodyPartExamined'], ds['PhotometricInterpretation']]
    .map((v) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : '-'))
    .join('/');
  const uid = typeof ds['SOPInstanceUID'] === 'string' ? ds['SOPInstanceUID'] : null;
  return { grey: toDisplayGrey(await decodeFrame(instance, 0), ds, options.windowing), kind, uid };
}
