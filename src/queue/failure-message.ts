import type { ErrorCode } from '../errors/genguard-error.js';

/**
 * A sentence fit for the person who asked, for an `error` notify job. The code and the
 * technical message stay in the job and the logs; this says what they can do about it.
 */
export function userMessage(code: ErrorCode): string {
  switch (code) {
    case 'unsupported_format':
      return "I can't read this file type. Supported: JPEG, PNG, WebP, GIF, AVIF, BMP and TIFF.";
    case 'too_large':
    case 'too_many_pixels':
      return 'This image is too large for me to check.';
    case 'decode_failed':
    case 'empty_input':
      return 'This file looks damaged or empty, so I could not check it.';
    case 'not_found':
    case 'http_error':
    case 'redirect_limit':
    case 'fetch_refused':
      return 'I could not download this image (it may have been deleted, or the link is not allowed).';
    case 'fetch_failed':
    case 'fetch_timeout':
      return 'Downloading the image kept failing. Please try again later.';
    case 'out_of_credits':
      return 'The detection service has run out of credits. Please tell the server admins.';
    case 'auth_failed':
    case 'permission_denied':
    case 'config_invalid':
    case 'model_missing':
    case 'model_invalid':
      return 'The detector is not set up correctly. Please tell the server admins.';
    case 'rate_limited':
      return 'The detection service is busy. Please try again in a few minutes.';
    case 'timeout':
      return 'Checking this image took too long. Please try again later.';
    default:
      return 'Something went wrong while checking this image. Please try again later.';
  }
}
