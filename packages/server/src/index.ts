// @glimpse/server: the OpenAI-compatible HTTP face of the Glimpse runtime.

export { createApp, type AppOptions } from "./app.js";
export { serve, type ServeOptions, type RunningServer } from "./server.js";
export { ApiError } from "./errors.js";
export { ServerMetrics } from "./metrics.js";
export { EMBEDDED_MODEL_DIR } from "./paths.js";
