/**
 * The one definition of the ids the service accepts from clients, used by the server, the DTOs and the OpenAPI
 * document. Request ids, idempotency keys and workflow and artwork ids: 1-128 characters that a log line, a
 * header and a metric label keep as they are.
 */
export const TOKEN_PATTERN = '^[A-Za-z0-9._:-]{1,128}$';
export const TOKEN = new RegExp(TOKEN_PATTERN);

/** User ids: the same characters and `@`, since user ids are often e-mail addresses. */
export const USER_ID_PATTERN = '^[A-Za-z0-9._:@-]{1,128}$';
export const USER_ID = new RegExp(USER_ID_PATTERN);
