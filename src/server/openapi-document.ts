import { z } from 'zod';
import { apiSchemas, ERROR_STATUSES } from './api-schemas.js';

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

const STATUS_TEXT: Record<number, string> = {
  200: 'detection result',
  400: 'invalid input: not an image, bad base64, malformed JSON',
  401: 'missing, malformed or unknown API key',
  403: 'the API key was revoked',
  404: 'no such route, or the image expired before a worker picked it up',
  405: 'wrong method for the route (Allow header)',
  413: 'image above GENGUARD_MAX_BYTES or GENGUARD_MAX_PIXELS',
  429: 'per-key rate limit reached (Retry-After header)',
  500: 'detection failed',
  502: 'a remote backend failed',
  503: 'Redis unreachable or too many requests in flight (Retry-After header)',
  504: 'no worker answered within GENGUARD_API_TIMEOUT_MS',
};

function responses(success: string, error: string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    200: { description: STATUS_TEXT[200], content: { 'application/json': { schema: ref(success) } } },
  };
  for (const status of ERROR_STATUSES) {
    out[status] = { description: STATUS_TEXT[status], content: { 'application/json': { schema: ref(error) } } };
  }
  return out;
}

const security = [{ apiKey: [] }, { bearer: [] }];

/**
 * The OpenAPI 3.1 document served at `/openapi.json`, its schemas generated from api-schemas.ts
 * (OpenAPI 3.1 schemas are JSON Schema 2020-12, which is what zod emits).
 */
export function openApiDocument(version: string): Record<string, unknown> {
  const { schemas } = z.toJSONSchema(apiSchemas, { uri: (id) => `#/components/schemas/${id}` });
  const components: Record<string, unknown> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _s, $id: _i, ...rest } = schema as Record<string, unknown>;
    components[id] = rest;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'genguard detection API',
      version,
      description:
        'Self-hosted AI-generated-image detection. POST /image answers like BitMind\'s enterprise API, POST /api/detect like ' +
        'Bijou\'s, so clients written for either can point here. Authenticate with `X-Api-Key: <key>` or `Authorization: Bearer <key>` ' +
        '(keys from `genguard keys create`).',
    },
    components: {
      schemas: components,
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
        bearer: { type: 'http', scheme: 'bearer' },
      },
    },
    paths: {
      '/image': {
        post: {
          summary: 'Detect one image (BitMind-compatible)',
          security,
          requestBody: {
            required: true,
            content: { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } },
          },
          responses: responses('BitmindResult', 'BitmindError'),
        },
      },
      '/api/detect': {
        post: {
          summary: 'Detect one image (Bijou-compatible)',
          security,
          requestBody: { required: true, content: { 'application/json': { schema: ref('BijouRequest') } } },
          responses: responses('BijouSuccess', 'BijouError'),
        },
      },
      '/health': {
        get: {
          summary: 'Liveness and Redis reachability (no authentication)',
          responses: {
            200: { description: 'serving', content: { 'application/json': { schema: ref('Health') } } },
            503: { description: 'Redis unreachable', content: { 'application/json': { schema: ref('Health') } } },
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics (no authentication)',
          responses: { 200: { description: 'text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
      '/openapi.json': {
        get: {
          summary: 'This document',
          responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } },
        },
      },
    },
  };
}
