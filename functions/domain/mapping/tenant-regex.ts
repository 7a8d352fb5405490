import type { RE2JS } from 're2js';
import { ExpressionError, UnsupportedExpressionError } from './expression-error.ts';
import { MAX_REGEX_PATTERN_LENGTH, MAX_REGEX_PROGRAM_SIZE, MAX_REGEX_WORK } from './limits.ts';

/**
 * re2js (about 150 KB minified, more than most functions' whole bundle) is imported on first need rather than with
 * this module: most mappings and filters have no regular expression, and a function's cold start grows with the code
 * it loads. The Lambda bundles leave it out and ship it beside them (lib/constructs/service-function.ts).
 */
let engine: typeof RE2JS | undefined;
let loading: Promise<void> | undefined;

/** Loads the regular expression engine; until it has, compiling a pattern throws {@link RegexEngineNotLoadedError}. */
export function loadRegexEngine(): Promise<void> {
  loading ??= import('re2js').then(
    (module) => {
      engine = module.RE2JS;
    },
    (error: unknown) => {
      loading = undefined;
      throw error;
    },
  );
  return loading;
}

/** A pattern was compiled before {@link loadRegexEngine} had loaded the engine: not a problem of the pattern's. */
export class RegexEngineNotLoadedError extends Error {
  constructor() {
    super('The regular expression engine is not loaded (loadRegexEngine)');
    this.name = 'RegexEngineNotLoadedError';
  }
}

function re2(): typeof RE2JS {
  if (engine === undefined) throw new RegexEngineNotLoadedError();
  return engine;
}

/**
 * `work()`, which must have no effect but its result, run again once the engine is loaded if it needed it: the
 * engine is loaded only for what holds a regular expression, without a second walk to find out whether it does.
 */
export async function withRegexEngine<T>(work: () => T): Promise<T> {
  try {
    return work();
  } catch (error) {
    if (!(error instanceof RegexEngineNotLoadedError)) throw error;
    await loadRegexEngine();
    return work();
  }
}

/** Patterns compiled lately: a mapping's pattern is met once per object of a run. */
const CACHE_SIZE = 256;
const cache = new Map<string, TenantRegex | string>();

/**
 * A regular expression a tenant wrote (Replace's regexPattern, a REGEX_MATCH operand), run by re2js in time linear
 * in the text, so no pattern can backtrack for seconds (`^(a|a)*$` on `a`×28 + `!`). Patterns are written as
 * JavaScript ones (`(?<name>…)`, `\u00e9`) and translated to RE2 syntax; what RE2 cannot run (backreferences,
 * lookaheads, lookbehinds) is refused, and so are patterns beyond the limits in limits.ts.
 */
export class TenantRegex {
  private constructor(
    private readonly compiled: RE2JS,
    readonly pattern: string,
  ) {}

  /** The compiled pattern, or why it cannot be used (a phrase such as "uses a backreference (…)"). */
  static compile(pattern: string): TenantRegex | string {
    const cached = cache.get(pattern);
    if (cached !== undefined) return cached;
    const compiled = TenantRegex.build(pattern);
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    cache.set(pattern, compiled);
    return compiled;
  }

  private static build(pattern: string): TenantRegex | string {
    if (pattern.length > MAX_REGEX_PATTERN_LENGTH) {
      return `it is ${pattern.length} characters long, and a pattern may have at most ${MAX_REGEX_PATTERN_LENGTH}`;
    }
    // translateRegExp reads `\k<name>` as the text "k<name>"; it is a backreference.
    if (namedBackreference(pattern)) return BACKREFERENCE;
    const RE2 = re2();
    let compiled: RE2JS;
    try {
      compiled = RE2.compile(RE2.translateRegExp(pattern));
    } catch (error) {
      return syntaxProblem(pattern, error);
    }
    const size = compiled.programSize();
    if (size > MAX_REGEX_PROGRAM_SIZE) {
      return `it compiles to ${size} instructions, and a pattern may compile to at most ${MAX_REGEX_PROGRAM_SIZE} (use smaller repetition counts)`;
    }
    return new TenantRegex(compiled, pattern);
  }

  /** Whether the pattern matches anywhere in `text` (unanchored, case-sensitive). */
  test(text: string): boolean {
    this.checkWork(text);
    return this.compiled.test(text);
  }

  /**
   * The [start, end) spans of each successive match in `text`, or of the named group within each match (matches
   * without that group are passed over; a name the pattern does not define yields nothing).
   */
  *spans(text: string, groupName: string | null): Generator<[number, number]> {
    this.checkWork(text);
    if (groupName !== null && !Object.hasOwn(this.compiled.namedGroups(), groupName)) return;
    const matcher = this.compiled.matcher(text);
    while (matcher.find()) {
      const start = groupName === null ? matcher.start() : matcher.start(groupName);
      if (start !== -1) yield [start, groupName === null ? matcher.end() : matcher.end(groupName)];
    }
  }

  /** Linear is still pattern size times text length: refused on a text where that is more than MAX_REGEX_WORK. */
  private checkWork(text: string): void {
    const work = this.compiled.programSize() * (text.length + 1);
    if (work > MAX_REGEX_WORK) {
      throw new ExpressionError(
        `the regular expression ${quoted(this.pattern)} is too costly to run on a value of ${text.length} characters ` +
          `(${this.compiled.programSize()} instructions × characters may be at most ${MAX_REGEX_WORK})`,
      );
    }
  }
}

/** A refused pattern, with why, for error messages. */
export class RegexPatternError extends UnsupportedExpressionError {
  constructor(
    readonly pattern: string,
    readonly problem: string,
    context: string,
  ) {
    super(patternMessage(context, pattern, problem));
  }
}

/**
 * The compiled pattern for matching.
 * @throws RegexPatternError when it cannot be used; `context` starts the message (`Replace: invalid regexPattern`).
 */
export function tenantRegex(pattern: string, context: string): TenantRegex {
  const compiled = TenantRegex.compile(pattern);
  if (typeof compiled === 'string') throw new RegexPatternError(pattern, compiled, context);
  return compiled;
}

/** Why a pattern cannot be used, or null when it can. */
export function regexProblem(pattern: string): string | null {
  const compiled = TenantRegex.compile(pattern);
  return typeof compiled === 'string' ? compiled : null;
}

/** "`context` "pattern": problem", the pattern cut short when long. */
export function patternMessage(context: string, pattern: string, problem: string): string {
  return `${context} ${quoted(pattern)}: ${problem}`;
}

/** The pattern as messages show it: quoted, and cut short when long. */
export function quoted(pattern: string): string {
  return JSON.stringify(pattern.length > 100 ? `${pattern.slice(0, 100)}…` : pattern);
}

const UNSUPPORTED = 'which the linear-time regular expression engine (RE2 syntax) does not run';
const BACKREFERENCE = `it uses a backreference (\\1, \\k<name>), ${UNSUPPORTED}`;

/** re2js's reason, named for the constructs people reach for that RE2 leaves out. */
function syntaxProblem(pattern: string, error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)).replace(/^error parsing regexp: /, '');
  if (/invalid escape sequence: `\\[1-9]/.test(message)) return BACKREFERENCE;
  if (/`\(\?[=!]/.test(message)) return `it uses a lookahead ((?=…), (?!…)), ${UNSUPPORTED}`;
  if (compilesWithLookbehinds(pattern)) return `it uses a lookbehind ((?<=…), (?<!…)), ${UNSUPPORTED}`;
  return message;
}

/** Whether an unescaped `\k<` occurs (a backslash pair is an escaped backslash). */
function namedBackreference(pattern: string): boolean {
  for (let index = 0; index < pattern.length; index += 1) {
    if (pattern[index] !== '\\') continue;
    if (pattern.startsWith('k<', index + 1)) return true;
    index += 1;
  }
  return false;
}

function compilesWithLookbehinds(pattern: string): boolean {
  const RE2 = re2();
  try {
    RE2.compile(RE2.translateRegExp(pattern), RE2.LOOKBEHINDS);
    return true;
  } catch {
    return false;
  }
}
