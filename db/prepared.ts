/**
 * A statement whose text starts with this marker runs as a named prepared statement on a PostgreSQL server (see
 * plugins/db.ts): parsed and planned once per pooled connection instead of on every call. For the few hot statements
 * that cost more to plan than to run, such as a live vote's single statement of five CTEs (planning was about two
 * thirds of its database CPU; bench/live-votes). The set of marked texts is fixed by the code, so the statements each
 * connection keeps stay few. PGlite ignores the comment.
 */
export const PREPARED = '/* prepared */ '
