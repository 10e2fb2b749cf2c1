import { Ajv2020 } from 'ajv/dist/2020.js';

interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: unknown;
}

interface Operation {
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
}

/**
 * Checks real responses against the served OpenAPI document (JSON Schema 2020-12 via ajv), so a
 * response that drifts from the document fails a test. Records which (path, method, status)
 * triples were checked, so a test can assert the coverage it claims.
 */
export class OpenApiValidator {
  readonly checked = new Set<string>();
  readonly #ajv = new Ajv2020({ strict: false, allErrors: true });
  readonly #doc: Document;

  constructor(document: unknown) {
    this.#doc = document as Document;
  }

  /** Throws with ajv's errors when `body` does not match the documented response. */
  check(path: string, method: string, status: number, body: unknown): void {
    const operation = this.#doc.paths[path]?.[method.toLowerCase()];
    if (!operation) throw new Error(`the document has no ${method} ${path}`);
    const response = operation.responses[String(status)];
    if (!response) throw new Error(`the document lists no ${status} for ${method} ${path}`);
    const schema = response.content?.['application/json']?.schema;
    if (!schema) throw new Error(`${method} ${path} ${status} has no JSON schema`);
    // Resolve `#/components/...` against the document itself.
    const validate = this.#ajv.compile({ ...(schema as object), components: this.#doc.components });
    if (!validate(body)) {
      throw new Error(`${method} ${path} ${status} does not match the document: ${this.#ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`);
    }
    this.checked.add(`${method.toUpperCase()} ${path} ${status}`);
  }
}
