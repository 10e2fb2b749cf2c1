import { z } from 'zod';
import { apiSchemas } from '../src/server/api-schemas.ts';
console.log(JSON.stringify(z.toJSONSchema(apiSchemas, { uri: (id) => `#/components/schemas/${id}` }), null, 1).slice(0, 3000));
