/**
 * Replaces the password of every URL-looking credential in `text` (scheme://user:password@host) with ***.
 * The password runs to the last '@' before white space: an unencoded '@' inside it must not leak the rest.
 */
export function redactPasswords(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):(\S*)@/gi, '$1:***@');
}
