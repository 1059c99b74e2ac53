// A small zip reader and writer (stored and deflated entries, no zip64): enough for function code
// packages, whose limits (50 MB zipped, 250 MB unzipped) stay far below what needs zip64.
import zlib from 'node:zlib';

export interface ZipEntry {
  /** the path as stored, '/'-separated */
  name: string;
  isDirectory: boolean;
  /** unix mode bits when the archive was made on unix (0 otherwise) */
  mode: number;
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  localHeaderOffset: number;
}

export class ZipError extends Error {}

const EOCD_SIG = 0x06054b50;
const CEN_SIG = 0x02014b50;
const LOC_SIG = 0x04034b50;

/** The central directory of a zip: its entries, without reading their data. */
export function listEntries(zip: Buffer): ZipEntry[] {
  // the end record is in the last 22 + 65535 (max comment) bytes
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65_535); i--) {
    if (zip.readUInt32LE(i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError('not a zip file (no end of central directory record)');
  const count = zip.readUInt16LE(eocd + 10);
  const cdSize = zip.readUInt32LE(eocd + 12);
  const cdOffset = zip.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) throw new ZipError('zip64 archives are not supported');
  if (cdOffset + cdSize > eocd) throw new ZipError('corrupt zip: central directory out of range');
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > zip.length || zip.readUInt32LE(p) !== CEN_SIG) throw new ZipError('corrupt zip: bad central directory entry');
    const flags = zip.readUInt16LE(p + 8);
    const method = zip.readUInt16LE(p + 10);
    const crc32 = zip.readUInt32LE(p + 16);
    const compressedSize = zip.readUInt32LE(p + 20);
    const size = zip.readUInt32LE(p + 24);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const madeBy = zip.readUInt16LE(p + 4) >> 8;
    const external = zip.readUInt32LE(p + 38);
    const localHeaderOffset = zip.readUInt32LE(p + 42);
    if (flags & 1) throw new ZipError('encrypted zip entries are not supported');
    const name = zip.toString('utf8', p + 46, p + 46 + nameLen);
    const mode = madeBy === 3 ? external >>> 16 : 0;
    const isDirectory = name.endsWith('/') || (mode & 0o170000) === 0o040000;
    entries.push({ name, isDirectory, mode, method, compressedSize, size, crc32, localHeaderOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** The bytes of one entry, checked against its declared size and CRC. */
export function readEntry(zip: Buffer, entry: ZipEntry): Buffer {
  const p = entry.localHeaderOffset;
  if (p + 30 > zip.length || zip.readUInt32LE(p) !== LOC_SIG) throw new ZipError(`corrupt zip: bad local header for ${entry.name}`);
  const start = p + 30 + zip.readUInt16LE(p + 26) + zip.readUInt16LE(p + 28);
  const raw = zip.subarray(start, start + entry.compressedSize);
  if (raw.length !== entry.compressedSize) throw new ZipError(`corrupt zip: ${entry.name} is truncated`);
  let data: Buffer;
  if (entry.method === 0) data = raw;
  else if (entry.method === 8) {
    try {
      // the declared size bounds the output: a "zip bomb" can't inflate past what was checked
      data = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
    } catch {
      throw new ZipError(`corrupt zip: ${entry.name} does not inflate to its declared size`);
    }
  } else throw new ZipError(`zip entry ${entry.name} uses unsupported compression method ${entry.method}`);
  if (data.length !== entry.size) throw new ZipError(`corrupt zip: ${entry.name} has the wrong size`);
  if (zlib.crc32(data) !== entry.crc32) throw new ZipError(`corrupt zip: ${entry.name} fails its CRC check`);
  return data;
}

/**
 * A deterministic zip of the given files (sorted, fixed timestamps, deflated): the same files
 * always give the same bytes, so the same sha256.
 */
export function writeZip(files: Array<{ path: string; content: Buffer; mode?: number }>): Buffer {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  const DOS_DATE = (1 << 5) | 1; // 1980-01-01
  for (const f of sorted) {
    const name = Buffer.from(f.path, 'utf8');
    const deflated = zlib.deflateRawSync(f.content);
    const crc = zlib.crc32(f.content);
    const loc = Buffer.alloc(30);
    loc.writeUInt32LE(LOC_SIG, 0);
    loc.writeUInt16LE(20, 4);
    loc.writeUInt16LE(0x800, 6);
    loc.writeUInt16LE(8, 8);
    loc.writeUInt16LE(0, 10);
    loc.writeUInt16LE(DOS_DATE, 12);
    loc.writeUInt32LE(crc, 14);
    loc.writeUInt32LE(deflated.length, 18);
    loc.writeUInt32LE(f.content.length, 22);
    loc.writeUInt16LE(name.length, 26);
    const cen = Buffer.alloc(46);
    cen.writeUInt32LE(CEN_SIG, 0);
    cen.writeUInt16LE((3 << 8) | 20, 4);
    cen.writeUInt16LE(20, 6);
    cen.writeUInt16LE(0x800, 8);
    cen.writeUInt16LE(8, 10);
    cen.writeUInt16LE(0, 12);
    cen.writeUInt16LE(DOS_DATE, 14);
    cen.writeUInt32LE(crc, 16);
    cen.writeUInt32LE(deflated.length, 20);
    cen.writeUInt32LE(f.content.length, 24);
    cen.writeUInt16LE(name.length, 28);
    const mode = f.mode ?? 0o644;
    cen.writeUInt32LE((((mode & 0o170000 ? 0 : 0o100000) | mode) << 16) >>> 0, 38);
    cen.writeUInt32LE(offset, 42);
    locals.push(loc, name, deflated);
    centrals.push(cen, name);
    offset += 30 + name.length + deflated.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(EOCD_SIG, 0);
  end.writeUInt16LE(sorted.length, 8);
  end.writeUInt16LE(sorted.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
