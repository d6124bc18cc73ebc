/** The version of every report file's format (migration and revert); raised on an incompatible change. */
export const REPORT_VERSION = 1;
