/**
 * Reads a PNG as far as the tests need to judge a screenshot: that it is a whole, valid PNG
 * (signature, every chunk's CRC, IHDR first and IEND last, the image data inflates to exactly
 * the rows IHDR promises and every row's filter is known), its size, and how much of it is
 * not the background. Only 8-bit RGB and RGBA (what QEMU's screendump writes) are decoded.
 */
import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';

export interface PngFacts {
  width: number;
  height: number;
  /** Distinct colours, counted up to 256. */
  colours: number;
  /** The share of pixels that differ from the most common colour (the background). */
  foreground: number;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function readPng(path: string): PngFacts {
  const data = readFileSync(path);
  if (!data.subarray(0, 8).equals(SIGNATURE)) throw new Error(`${path}: not a PNG (no signature)`);
  let at = 8;
  const chunks: { type: string; body: Buffer }[] = [];
  while (at < data.length) {
    if (at + 12 > data.length) throw new Error(`${path}: a chunk is cut off at byte ${at}`);
    const len = data.readUInt32BE(at);
    const type = data.toString('latin1', at + 4, at + 8);
    if (at + 12 + len > data.length) throw new Error(`${path}: chunk ${type} is cut off`);
    const body = data.subarray(at + 8, at + 8 + len);
    if (crc32(data.subarray(at + 4, at + 8 + len)) !== data.readUInt32BE(at + 8 + len)) throw new Error(`${path}: chunk ${type} has a bad CRC`);
    chunks.push({ type, body });
    at += 12 + len;
  }
  if (chunks[0]?.type !== 'IHDR' || chunks.at(-1)?.type !== 'IEND') throw new Error(`${path}: IHDR must come first and IEND last`);
  const ihdr = chunks[0].body;
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  const [depth, colourType, , , interlace] = [ihdr[8], ihdr[9], ihdr[10], ihdr[11], ihdr[12]];
  const channels = colourType === 2 ? 3 : colourType === 6 ? 4 : 0;
  if (depth !== 8 || channels === 0 || interlace !== 0) throw new Error(`${path}: only 8-bit RGB(A), not interlaced, is read here (depth ${depth}, colour type ${colourType})`);
  const raw = inflateSync(Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.body)));
  const stride = width * channels;
  if (raw.length !== height * (stride + 1)) throw new Error(`${path}: the image data has ${raw.length} bytes, not ${height * (stride + 1)}`);
  const pixels = unfilter(raw, width, height, channels);

  const counts = new Map<number, number>();
  for (let i = 0; i < pixels.length; i += channels) {
    const key = (pixels[i]! << 16) | (pixels[i + 1]! << 8) | pixels[i + 2]!;
    if (counts.size < 256 || counts.has(key)) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const background = Math.max(...counts.values());
  return { width, height, colours: counts.size, foreground: 1 - background / (width * height) };
}

/** The CRC-32 of PNG chunks (zlib's crc32() is in Node only from 20.15; package.json allows 20.11). */
function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** PNG's five row filters undone (the PNG specification, section 9). */
function unfilter(raw: Buffer, width: number, height: number, bpp: number): Buffer {
  const stride = width * bpp;
  const out = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = out.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? out.subarray((y - 1) * stride, y * stride) : Buffer.alloc(stride);
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? row[x - bpp]! : 0;
      const b = prev[x]!;
      const c = x >= bpp ? prev[x - bpp]! : 0;
      let v: number;
      switch (filter) {
        case 0: v = 0; break;
        case 1: v = a; break;
        case 2: v = b; break;
        case 3: v = (a + b) >> 1; break;
        case 4: {
          const p = a + b - c;
          const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
          v = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          throw new Error(`row ${y}: unknown PNG filter ${filter}`);
      }
      row[x] = (src[x]! + v) & 0xff;
    }
  }
  return out;
}
