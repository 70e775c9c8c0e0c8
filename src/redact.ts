/** A URL with its password (in the authority or as a query parameter) replaced by ***, for logs and `acu config`. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    for (const k of [...u.searchParams.keys()]) if (/pass/i.test(k)) u.searchParams.set(k, "***");
    return u.toString();
  } catch {
    return url.replace(/(\/\/[^:/@]*:)[^@]*@/, "$1***@").replace(/(pass\w*=)[^&\s]*/gi, "$1***");
  }
}
