/** Node ids: what the dashboard and the logs show. Kept apart from link.ts so `--help` loads no Redis client. */
export const NODE_ID_PATTERN = /^[A-Za-z0-9_.-]{1,32}$/;
