/** One CSV line split into fields, or why it cannot be. */
export type CsvFields = { kind: 'fields'; fields: string[] } | { kind: 'bad'; reason: string };

/**
 * Splits one CSV line (RFC 4180: fields quoted with ", "" for a quote inside, the delimiter inside quotes is
 * text; a CR before the end ignored). A line without quotes (most tick data) is split without a scan per
 * character. Fields do not span lines: a quote left open is a bad line.
 */
export function splitCsvLine(line: string, delimiter = ','): CsvFields {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (!text.includes('"')) return { kind: 'fields', fields: text.split(delimiter) };
  const fields: string[] = [];
  let field = '';
  let i = 0;
  while (i <= text.length) {
    if (text[i] === '"') {
      // A quoted field: up to the closing quote, "" standing for one quote.
      i++;
      for (;;) {
        const close = text.indexOf('"', i);
        if (close === -1) return { kind: 'bad', reason: 'a quote is not closed' };
        field += text.slice(i, close);
        if (text[close + 1] === '"') {
          field += '"';
          i = close + 2;
          continue;
        }
        i = close + 1;
        break;
      }
      if (i < text.length && !text.startsWith(delimiter, i)) {
        return { kind: 'bad', reason: `text after a closing quote at column ${i + 1}` };
      }
    } else {
      const end = text.indexOf(delimiter, i);
      const stop = end === -1 ? text.length : end;
      const raw = text.slice(i, stop);
      if (raw.includes('"')) return { kind: 'bad', reason: `a quote inside an unquoted field at column ${i + 1}` };
      field += raw;
      i = stop;
    }
    fields.push(field);
    field = '';
    if (i >= text.length) break;
    i += delimiter.length;
    if (i === text.length) {
      fields.push('');
      break;
    }
  }
  return { kind: 'fields', fields };
}
