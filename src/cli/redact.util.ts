/** Replaces the password of every URL-looking credential in `text` (scheme://user:password@host) with ***. */
export function redactPasswords(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):([^@\s]*)@/gi, '$1:***@');
}
