/**
 * Image bytes -> the model's input tensor for one item (no batch dim), and validation of raw
 * tensor inputs. The resize recipe is the one the shared README used to check the real models:
 * EXIF auto-rotate, drop alpha, bilinear resize of the shorter side to round(S/0.875) (256 for
 * S=224), centre crop S x S. A 640x480 photo with S=224 becomes 341x256, cropped at (58,16).
 */
import sharp from 'sharp';
import { LIMITS, type TensorDtype } from './protocol.js';
import { InvalidInputError } from './errors.js';
import { toHalfBits } from './float16.js';
import type { ModelVariant } from './registry-schema.js';

export type ItemData = Float32Array | Uint8Array | Uint16Array;

/** Decompression-bomb guard: 40 megapixels is larger than any camera photo we expect. */
const MAX_INPUT_PIXELS = 40_000_000;

/** Decode, rotate, resize and centre-crop to S x S raw RGB (3 bytes per pixel, row-major HWC). */
export async function decodeToRgb(
  image: Buffer,
  size: number,
  resizeShorterTo: number,
  field: string,
): Promise<Buffer> {
  if (image.length === 0) throw new InvalidInputError(`${field} is empty`, field);
  if (image.length > LIMITS.maxImageBytes) {
    throw new InvalidInputError(
      `${field} is ${image.length} bytes; the limit is ${LIMITS.maxImageBytes} bytes`,
      field,
      `${LIMITS.maxImageBytes} bytes`,
    );
  }
  try {
    const meta = await sharp(image, { limitInputPixels: MAX_INPUT_PIXELS }).metadata();
    let w = meta.width;
    let h = meta.height;
    if (!w || !h) throw new Error('image has no dimensions');
    // EXIF orientations 5..8 swap width and height once rotate() applies them.
    if ((meta.orientation ?? 1) >= 5) [w, h] = [h, w];
    const k = resizeShorterTo / Math.min(w, h);
    const rw = Math.max(size, Math.round(w * k));
    const rh = Math.max(size, Math.round(h * k));
    const { data, info } = await sharp(image, { limitInputPixels: MAX_INPUT_PIXELS })
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .resize(rw, rh, { fit: 'fill', kernel: 'linear' })
      .extract({
        left: Math.floor((rw - size) / 2),
        top: Math.floor((rh - size) / 2),
        width: size,
        height: size,
      })
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== size * size * 3) {
      throw new Error(`decoder produced ${info.channels} channels, ${data.length} bytes`);
    }
    return data;
  } catch (err) {
    if (err instanceof InvalidInputError) throw err;
    throw new InvalidInputError(
      `${field} is not a decodable image (JPEG, PNG, WebP, GIF, TIFF or AVIF expected): ${(err as Error).message}`,
      field,
      'a JPEG/PNG/WebP image',
      { cause: err },
    );
  }
}

/** Raw RGB HWC bytes -> the model's dtype, layout, colour order and normalisation for one item. */
export function rgbToInput(rgb: Buffer, variant: ModelVariant): ItemData {
  const pp = variant.preprocessing;
  if (pp.kind !== 'image') throw new Error(`variant ${variant.name} has no image preprocessing`);
  const s = pp.size;
  const plane = s * s;
  const nchw = variant.input.layout === 'NCHW';
  const dtype = variant.input.dtype;
  const out: ItemData =
    dtype === 'uint8'
      ? new Uint8Array(plane * 3)
      : dtype === 'float16'
        ? new Uint16Array(plane * 3)
        : new Float32Array(plane * 3);
  const bgr = pp.colorOrder === 'BGR';
  const identity = pp.scale === 1 && pp.mean.every((m) => m === 0) && pp.std.every((d) => d === 1);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const x = rgb[p * 3 + (bgr ? 2 - c : c)]!;
      const idx = nchw ? c * plane + p : p * 3 + c;
      if (dtype === 'uint8') {
        // Raw-uint8 models (quantisation inside the graph) take 0..255 as is; anything else would need clamping.
        out[idx] = identity
          ? x
          : Math.max(0, Math.min(255, Math.round((x * pp.scale - pp.mean[c]!) / pp.std[c]!)));
      } else {
        const v = (x * pp.scale - pp.mean[c]!) / pp.std[c]!;
        out[idx] = dtype === 'float16' ? toHalfBits(v) : v;
      }
    }
  }
  return out;
}

/** Shape of one item (the model's input shape without the batch dim); null = any size. */
export function itemShape(variant: ModelVariant): readonly (number | null)[] {
  return variant.input.shape.slice(1);
}

function fmtShape(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(',')}]`;
}

/** Validate a raw tensor input against the model and convert it to the model's typed array. */
export function tensorToInput(
  tensor: { dtype: TensorDtype; shape: readonly number[]; data: ArrayLike<number> },
  variant: ModelVariant,
  field: string,
): { data: ItemData; shape: number[] } {
  const want = itemShape(variant);
  if (tensor.dtype !== variant.input.dtype) {
    throw new InvalidInputError(
      `${field}.dtype is '${tensor.dtype}'; model '${variant.name}' expects '${variant.input.dtype}'`,
      `${field}.dtype`,
      variant.input.dtype,
    );
  }
  const shapeOk =
    tensor.shape.length === want.length &&
    tensor.shape.every((d, i) => Number.isInteger(d) && d > 0 && (want[i] === null || want[i] === d));
  if (!shapeOk) {
    throw new InvalidInputError(
      `${field}.shape is ${fmtShape(tensor.shape)}; model '${variant.name}' expects ${fmtShape(want)} (one item, ${variant.input.layout} without the batch dimension)`,
      `${field}.shape`,
      fmtShape(want),
    );
  }
  const n = tensor.shape.reduce((a, b) => a * b, 1);
  if (tensor.data.length !== n) {
    throw new InvalidInputError(
      `${field}.data has ${tensor.data.length} elements; shape ${fmtShape(tensor.shape)} needs ${n}`,
      `${field}.data`,
      `${n} elements`,
    );
  }
  const dtype = variant.input.dtype;
  // Typed arrays already in the model's storage type (e.g. a decoded `dataBase64`) are used as
  // they are: no copy of the 602,112 bytes of a 3x224x224 float32 item, just the finiteness check.
  if (dtype === 'uint8' && tensor.data instanceof Uint8Array) return { data: tensor.data, shape: [...tensor.shape] };
  if (dtype === 'float32' && tensor.data instanceof Float32Array) {
    const d = tensor.data;
    const bits = new Uint32Array(d.buffer, d.byteOffset, n);
    for (let i = 0; i < n; i++) {
      // Exponent all ones = Inf or NaN; integer ops on the bits are cheaper than float compares.
      if ((bits[i]! & 0x7f800000) === 0x7f800000) {
        throw new InvalidInputError(
          `${field}.data[${i}] is ${String(d[i])}; finite numbers expected`,
          `${field}.data`,
          'finite numbers',
        );
      }
    }
    return { data: d, shape: [...tensor.shape] };
  }
  const out: ItemData =
    dtype === 'uint8' ? new Uint8Array(n) : dtype === 'float16' ? new Uint16Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = tensor.data[i]!;
    if (
      typeof v !== 'number' ||
      !Number.isFinite(v) ||
      (dtype === 'uint8' && (!Number.isInteger(v) || v < 0 || v > 255))
    ) {
      throw new InvalidInputError(
        `${field}.data[${i}] is ${String(v)}; ${dtype === 'uint8' ? 'integers 0..255' : 'finite numbers'} expected`,
        `${field}.data`,
        dtype === 'uint8' ? 'integers 0..255' : 'finite numbers',
      );
    }
    out[i] = dtype === 'float16' ? toHalfBits(v) : v;
  }
  return { data: out, shape: [...tensor.shape] };
}
