// Suffix-cache documents: named text that the suffix proposer may draft from.

import { z } from "zod";

export const documentRequest = z.strictObject({
  name: z.string().min(1).max(256),
  // Its byte cap is checked by the route (413, --max-document-bytes).
  text: z.string(),
});
