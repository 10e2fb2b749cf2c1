import { describe, expect, it } from 'vitest';
import { describeContent, looksLikeHtml, sniffFormat } from '../../src/intake/sniff-format.js';
import { animation, bmp, ftyp, solidImage } from './helpers.js';

describe('sniffFormat', () => {
  it.each(['jpeg', 'png', 'webp', 'gif', 'avif', 'tiff'] as const)('recognises %s made by sharp', async (format) => {
    const bytes = await solidImage(format, 8, 8);
    expect(sniffFormat(bytes)).toBe(format);
    // The CLI sniffs only the first 64 bytes of a file.
    expect(sniffFormat(bytes.subarray(0, 64))).toBe(format);
  });

  it('recognises animated WebP and GIF', async () => {
    expect(sniffFormat(await animation('webp'))).toBe('webp');
    expect(sniffFormat(await animation('gif'))).toBe('gif');
  });

  it('recognises a hand-made BMP', () => {
    const bytes = bmp({ width: 1, height: 1, bitsPerPixel: 24, rows: [[0, 0, 255]] });
    expect(sniffFormat(bytes)).toBe('bmp');
  });

  it('recognises big-endian TIFF and BigTIFF', () => {
    expect(sniffFormat(Buffer.from([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8]))).toBe('tiff');
    expect(sniffFormat(Buffer.from([0x49, 0x49, 0x2b, 0x00, 8, 0, 0, 0]))).toBe('tiff');
  });

  it('accepts AVIF by compatible brand and refuses HEIC', () => {
    expect(sniffFormat(ftyp('avif', 'mif1', 'miaf'))).toBe('avif');
    expect(sniffFormat(ftyp('mif1', 'mif1', 'avif'))).toBe('avif');
    expect(sniffFormat(ftyp('heic', 'mif1', 'heic'))).toBeUndefined();
    expect(sniffFormat(ftyp('mif1', 'mif1', 'heic'))).toBeUndefined();
    expect(sniffFormat(ftyp('isom', 'isom', 'mp41'))).toBeUndefined();
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['plain text', Buffer.from('hello, this is not an image\n')],
    ['HTML', Buffer.from('<!DOCTYPE html><html><body>Sign in to Slack</body></html>')],
    ['SVG', Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>')],
    ['PDF', Buffer.from('%PDF-1.7\n%âãÏÓ\n')],
    ['JPEG XL', Buffer.from([0xff, 0x0a, 0xfa, 0x7f])],
    ['text starting with BM', Buffer.from('BMW makes cars, and this line is long enough')],
    ['a JPEG cut to 2 bytes', Buffer.from([0xff, 0xd8])],
    ['RIFF that is not WebP', Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt ', 'latin1')],
  ])('refuses %s', (_name, bytes) => {
    expect(sniffFormat(bytes)).toBeUndefined();
  });
});

describe('describeContent', () => {
  it.each([
    ['<!doctype html><title>x</title>', 'an HTML page'],
    ['\uFEFF  \n<html lang="en">', 'an HTML page'],
    ['<svg xmlns="http://www.w3.org/2000/svg"/>', 'an SVG image'],
    ['%PDF-1.4', 'a PDF document'],
    ['{"ok":false,"error":"invalid_auth"}', 'JSON or text'],
    ['just words', 'text'],
  ])('names %j as %s', (text, expected) => {
    expect(describeContent(Buffer.from(text))).toBe(expected);
  });

  it('names HEIC and empty input', () => {
    expect(describeContent(ftyp('heic', 'mif1', 'heic'))).toBe('a HEIC image');
    expect(describeContent(Buffer.alloc(0))).toBe('empty');
  });

  it('does not call an image HTML', async () => {
    expect(looksLikeHtml(await solidImage('png', 4, 4))).toBe(false);
    expect(looksLikeHtml(Buffer.from('<html>'))).toBe(true);
  });
});
