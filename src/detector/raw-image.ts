/** Decoded pixels: 8-bit RGB, interleaved (HWC), already oriented and flattened. */
export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
}
