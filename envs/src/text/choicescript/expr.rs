//! ChoiceScript values, expressions and interpolated text: tokens, the parser with the language's
//! parenthesis rule (one operator per level: `(a + b) * 2`, never `a + b * 2`), and evaluation.

use std::fmt;

/// A value: a number, a string or a boolean.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A number (ChoiceScript's numbers are doubles).
    Num(f64),
    /// A string.
    Str(String),
    /// `true` or `false`.
    Bool(bool),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Num(x) => write!(f, "{x}"),
            Value::Str(s) => f.write_str(s),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl Value {
    /// The value as a number: numbers, and strings that read as one.
    pub fn num(&self) -> Result<f64, String> {
        match self {
            Value::Num(x) => Ok(*x),
            Value::Str(s) => s.trim().parse::<f64>().map_err(|_| format!("\"{s}\" is not a number")),
            Value::Bool(b) => Err(format!("{b} is not a number")),
        }
    }

    /// The value as a condition (only booleans are).
    pub fn truth(&self) -> Result<bool, String> {
        match self {
            Value::Bool(b) => Ok(*b),
            other => Err(format!("{} is neither true nor false", other.quoted())),
        }
    }

    fn quoted(&self) -> String {
        match self {
            Value::Str(s) => format!("\"{s}\""),
            other => other.to_string(),
        }
    }
}

/// Where a variable lives, resolved when the scene is compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// A global (`*create` in startup).
    Global(u32),
    /// A temp of the current scene (`*temp`, `*temp_array`, `*params`).
    Temp(u32),
    /// `param_count` (0) or `param_k` (k) of the current call.
    Param(u32),
    /// A read-only `choice_...` name: `choice_purchased_*` reads true (paid content counts as
    /// owned), the others false.
    Builtin(bool),
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `modulo`
    Mod,
    /// `%+` (fairmath)
    FairAdd,
    /// `%-` (fairmath)
    FairSub,
    /// `&` (string concatenation)
    Concat,
    /// `^` (power)
    Pow,
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `and`
    And,
    /// `or`
    Or,
}

/// Built-in functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    /// `not(b)`
    Not,
    /// `round(x)` (halves up, as JavaScript's `Math.round`)
    Round,
    /// `length(s)` (characters)
    Length,
}

/// An expression, with its variables resolved.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A literal.
    Lit(Value),
    /// A string literal with `${}` or `@{}` in it.
    Text(Interp),
    /// A variable.
    Var(Slot),
    /// `name[i]` (`name_i`) or `name[i][j]`: looked up by name when evaluated.
    Index(String, Vec<Expr>),
    /// `{expr}`: the variable whose name is the value of `expr`.
    Ref(Box<Expr>),
    /// A function call.
    Call(Func, Box<Expr>),
    /// `left op right`.
    Bin(BinOp, Box<Expr>, Box<Expr>),
}

/// Letter case of an interpolated value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// `${x}`
    AsIs,
    /// `$!{x}`: first letter capitalised.
    Capital,
    /// `$!!{x}`: upper case.
    Upper,
}

/// One piece of interpolated text.
#[derive(Clone, Debug, PartialEq)]
pub enum Piece {
    /// Literal text.
    Lit(String),
    /// `${expr}`, `$!{expr}`, `$!!{expr}`.
    Value(Expr, Case),
    /// `@{selector a|b|...}`: a boolean picks the first (true) or second (false) text, a number
    /// k the k-th (1-based).
    Multi(Expr, Vec<Interp>),
}

/// Text with interpolation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Interp(pub Vec<Piece>);

impl Interp {
    /// Words as written: a `${}` counts as one, and every text of a multireplace counts.
    pub fn words(&self) -> usize {
        self.0
            .iter()
            .map(|p| match p {
                Piece::Lit(s) => s.split_whitespace().count(),
                Piece::Value(..) => 1,
                Piece::Multi(_, texts) => texts.iter().map(Interp::words).sum(),
            })
            .sum()
    }

    /// Whether the text is a plain literal (nothing to evaluate).
    pub fn literal(&self) -> Option<&str> {
        match self.0.as_slice() {
            [] => Some(""),
            [Piece::Lit(s)] => Some(s),
            _ => None,
        }
    }
}

/// What an evaluation reads: variable values and, for dynamic names, the name table.
pub trait Scope {
    /// The value in a slot (an error if a temp or param is not set yet).
    fn get(&self, slot: Slot) -> Result<Value, String>;
    /// The slot of a variable name (lower case), for `name[i]` and `{expr}`.
    fn lookup(&self, name: &str) -> Option<Slot>;
}

/// Resolves a variable name (lower case) while compiling.
pub trait Names {
    /// The slot of `name`, or `None` if no such variable is declared.
    fn resolve(&self, name: &str) -> Option<Slot>;
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Word(String),
    Op(BinOp),
    Open(char),
    Close(char),
}

fn op_word(w: &str) -> Option<BinOp> {
    match w {
        "and" => Some(BinOp::And),
        "or" => Some(BinOp::Or),
        "modulo" => Some(BinOp::Mod),
        _ => None,
    }
}

/// Splits an expression into tokens.
fn tokenize(src: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            ' ' | '\t' => i += 1,
            '0'..='9' | '.' if c != '.' || next.is_some_and(|d| d.is_ascii_digit()) => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let s: String = chars[start..i].iter().collect();
                out.push(Tok::Num(s.parse().map_err(|_| format!("`{s}` is not a number"))?));
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("a string is not closed: missing `\"`".into()),
                        Some('"') => break,
                        Some('\\') => {
                            let e = chars.get(i + 1).copied().ok_or("a string ends in `\\`")?;
                            s.push(match e {
                                'n' => '\n',
                                other => other,
                            });
                            i += 2;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                i += 1;
                out.push(Tok::Str(s));
            }
            c if c.is_alphanumeric() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let w: String = chars[start..i].iter().collect::<String>().to_lowercase();
                out.push(op_word(&w).map_or(Tok::Word(w), Tok::Op));
            }
            '(' | '[' | '{' => {
                out.push(Tok::Open(c));
                i += 1;
            }
            ')' | ']' | '}' => {
                out.push(Tok::Close(c));
                i += 1;
            }
            _ => {
                let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                let (op, len) = match (c, two.as_str()) {
                    (_, "%+") => (BinOp::FairAdd, 2),
                    (_, "%-") => (BinOp::FairSub, 2),
                    (_, "!=") => (BinOp::Ne, 2),
                    (_, "<=") => (BinOp::Le, 2),
                    (_, ">=") => (BinOp::Ge, 2),
                    ('+', _) => (BinOp::Add, 1),
                    ('-', _) => (BinOp::Sub, 1),
                    ('*', _) => (BinOp::Mul, 1),
                    ('/', _) => (BinOp::Div, 1),
                    ('&', _) => (BinOp::Concat, 1),
                    ('^', _) => (BinOp::Pow, 1),
                    ('=', _) => (BinOp::Eq, 1),
                    ('<', _) => (BinOp::Lt, 1),
                    ('>', _) => (BinOp::Gt, 1),
                    _ => return Err(format!("unexpected character `{c}`")),
                };
                out.push(Tok::Op(op));
                i += len;
            }
        }
    }
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<Tok>,
    at: usize,
    names: &'a dyn Names,
}

fn closing(open: char) -> char {
    match open {
        '(' => ')',
        '[' => ']',
        _ => '}',
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn bump(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn expect_close(&mut self, open: char) -> Result<(), String> {
        match self.bump() {
            Some(Tok::Close(c)) if c == closing(open) => Ok(()),
            _ => Err(format!("missing `{}`", closing(open))),
        }
    }

    /// `term [op term]`; a second operator at the same level is the parenthesis-rule error.
    fn expr(&mut self) -> Result<Expr, String> {
        let left = self.term()?;
        let Some(Tok::Op(op)) = self.peek().cloned() else { return Ok(left) };
        self.at += 1;
        let right = self.term()?;
        if let Some(Tok::Op(_)) = self.peek() {
            return Err(
                "more than one operator without parentheses: write `(a + b) * c`, ChoiceScript has no precedence"
                    .into(),
            );
        }
        Ok(Expr::Bin(op, Box::new(left), Box::new(right)))
    }

    fn term(&mut self) -> Result<Expr, String> {
        match self.bump() {
            Some(Tok::Num(x)) => Ok(Expr::Lit(Value::Num(x))),
            Some(Tok::Op(BinOp::Sub)) => match self.bump() {
                Some(Tok::Num(x)) => Ok(Expr::Lit(Value::Num(-x))),
                _ => Err("`-` must be followed by a number here".into()),
            },
            Some(Tok::Str(s)) => {
                let interp = parse_interp(&s, self.names)?;
                Ok(match interp.literal() {
                    Some(l) => Expr::Lit(Value::Str(l.to_string())),
                    None => Expr::Text(interp),
                })
            }
            Some(Tok::Open('(')) => {
                let e = self.expr()?;
                self.expect_close('(')?;
                Ok(e)
            }
            Some(Tok::Open('{')) => {
                let e = self.expr()?;
                self.expect_close('{')?;
                Ok(Expr::Ref(Box::new(e)))
            }
            Some(Tok::Word(w)) => self.word(w),
            Some(t) => Err(format!("expected a value, found {}", describe(&t))),
            None => Err("expected a value, found the end of the expression".into()),
        }
    }

    fn word(&mut self, w: String) -> Result<Expr, String> {
        match w.as_str() {
            "true" => return Ok(Expr::Lit(Value::Bool(true))),
            "false" => return Ok(Expr::Lit(Value::Bool(false))),
            _ => {}
        }
        if let Some(Tok::Open('(')) = self.peek() {
            let f = match w.as_str() {
                "not" => Func::Not,
                "round" => Func::Round,
                "length" => Func::Length,
                _ => return Err(format!("unknown function `{w}` (known: not, round, length)")),
            };
            self.at += 1;
            let arg = self.expr()?;
            self.expect_close('(')?;
            return Ok(Expr::Call(f, Box::new(arg)));
        }
        let mut index = Vec::new();
        while let Some(Tok::Open('[')) = self.peek() {
            self.at += 1;
            index.push(self.expr()?);
            self.expect_close('[')?;
        }
        if !index.is_empty() {
            return Ok(Expr::Index(w, index));
        }
        self.names.resolve(&w).map(Expr::Var).ok_or_else(|| format!("unknown variable `{w}`"))
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Num(x) => format!("the number {x}"),
        Tok::Str(s) => format!("the string \"{s}\""),
        Tok::Word(w) => format!("`{w}`"),
        Tok::Op(_) => "an operator".into(),
        Tok::Open(c) | Tok::Close(c) => format!("`{c}`"),
    }
}

/// Deepest bracket nesting the parsers accept; deeper is refused rather than risk the stack.
pub const MAX_DEPTH: usize = 64;

/// Refuses text whose brackets nest deeper than [`MAX_DEPTH`]: every parser entry point checks
/// first, so no caller can recurse past it.
fn check_depth(s: &str) -> Result<(), String> {
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(format!("brackets nest deeper than {MAX_DEPTH} levels"));
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Parses a whole expression.
pub fn parse_expr(src: &str, names: &dyn Names) -> Result<Expr, String> {
    check_depth(src)?;
    let mut p = Parser { toks: tokenize(src)?, at: 0, names };
    let e = p.expr()?;
    match p.peek() {
        None => Ok(e),
        Some(t) => Err(format!("unexpected {} after the expression `{}`", describe(t), src.trim())),
    }
}

/// Parses the value of a `*set`: an expression that starts with an operator modifies the
/// variable (`*set x +5` is `x + 5`, `*set x %-20` is fairmath).
pub fn parse_modifier(target: Expr, src: &str, names: &dyn Names) -> Result<Expr, String> {
    check_depth(src)?;
    let toks = tokenize(src)?;
    match toks.first() {
        Some(Tok::Op(op)) => {
            let op = *op;
            let mut p = Parser { toks: toks[1..].to_vec(), at: 0, names };
            let e = p.term()?;
            match p.peek() {
                None => Ok(Expr::Bin(op, Box::new(target), Box::new(e))),
                Some(Tok::Op(_)) => Err("more than one operator without parentheses: write `*set x +(a * b)`".into()),
                Some(t) => Err(format!("unexpected {} after `{}`", describe(t), src.trim())),
            }
        }
        _ => parse_expr(src, names),
    }
}

/// Splits the variable a `*set` writes from its value, as the reference's tokenizer does: a name
/// with its `[index]`es, or a `{reference}`; the value may follow with no space (`*set x+1`,
/// `*set x%+10`).
pub fn split_reference(src: &str) -> (&str, &str) {
    let src = src.trim_start();
    let bytes = src.as_bytes();
    let mut end = if src.starts_with('{') {
        closing_of(bytes, 0).map_or(src.len(), |k| k + 1)
    } else {
        src.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(src.len())
    };
    while bytes.get(end) == Some(&b'[') {
        end = closing_of(bytes, end).map_or(src.len(), |k| k + 1);
    }
    (&src[..end], &src[end..])
}

/// The index of the bracket closing the one at `open`, outside strings.
fn closing_of(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_str = false;
    for (k, &b) in bytes.iter().enumerate().skip(open) {
        match b {
            b'"' => in_str = !in_str,
            b'(' | b'[' | b'{' if !in_str => depth += 1,
            b')' | b']' | b'}' if !in_str => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits `src` at the first top-level space: the leading term and the rest (for commands such
/// as `*rand x 1 6`, `*gosub label arg1 arg2`, `*setref name value`).
pub fn split_terms(src: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut in_str = false;
    let mut cur = String::new();
    let mut prev = ' ';
    for c in src.chars() {
        if in_str {
            cur.push(c);
            if c == '"' && prev != '\\' {
                in_str = false;
            }
        } else {
            match c {
                '"' => {
                    in_str = true;
                    cur.push(c);
                }
                '(' | '[' | '{' => {
                    depth += 1;
                    cur.push(c);
                }
                ')' | ']' | '}' => {
                    depth -= 1;
                    cur.push(c);
                }
                ' ' | '\t' if depth == 0 => {
                    if !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                }
                _ => cur.push(c),
            }
        }
        prev = c;
    }
    if in_str {
        return Err("a string is not closed: missing `\"`".into());
    }
    if depth != 0 {
        return Err("brackets do not match".into());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

/// Finds the index of the `}` that closes the `{` just before `from`.
fn matching_brace(chars: &[char], from: usize) -> Option<usize> {
    let mut depth = 1;
    let mut in_str = false;
    for (k, &c) in chars.iter().enumerate().skip(from) {
        match c {
            '"' => in_str = !in_str,
            '{' if !in_str => depth += 1,
            '}' if !in_str => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

/// Parses narration or option text: `${x}`, `$!{x}`, `$!!{x}`, `@{sel a|b}`.
pub fn parse_interp(src: &str, names: &dyn Names) -> Result<Interp, String> {
    check_depth(src)?;
    let chars: Vec<char> = src.chars().collect();
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    while i < chars.len() {
        let rest = &chars[i..];
        let (case, skip) = match rest {
            ['$', '!', '!', '{', ..] => (Some(Case::Upper), 4),
            ['$', '!', '{', ..] => (Some(Case::Capital), 3),
            ['$', '{', ..] => (Some(Case::AsIs), 2),
            _ => (None, 0),
        };
        if let Some(case) = case {
            let end = matching_brace(&chars, i + skip).ok_or("`${` is not closed with `}`")?;
            let inner: String = chars[i + skip..end].iter().collect();
            if !lit.is_empty() {
                pieces.push(Piece::Lit(std::mem::take(&mut lit)));
            }
            pieces.push(Piece::Value(parse_expr(&inner, names)?, case));
            i = end + 1;
            continue;
        }
        if let ['@', '{', ..] = rest {
            let end = matching_brace(&chars, i + 2).ok_or("`@{` is not closed with `}`")?;
            let inner: String = chars[i + 2..end].iter().collect();
            if !lit.is_empty() {
                pieces.push(Piece::Lit(std::mem::take(&mut lit)));
            }
            pieces.push(parse_multi(&inner, names)?);
            i = end + 1;
            continue;
        }
        lit.push(chars[i]);
        i += 1;
    }
    if !lit.is_empty() {
        pieces.push(Piece::Lit(lit));
    }
    Ok(Interp(pieces))
}

fn parse_multi(inner: &str, names: &dyn Names) -> Result<Piece, String> {
    let inner = inner.trim_start();
    let (selector, rest) = if inner.starts_with('(') {
        let chars: Vec<char> = inner.chars().collect();
        let mut depth = 0;
        let mut end = None;
        for (k, &c) in chars.iter().enumerate() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(k);
                        break;
                    }
                }
                _ => {}
            }
        }
        let end = end.ok_or("`@{(` is not closed with `)`")?;
        let sel: String = chars[..=end].iter().collect();
        (sel, chars[end + 1..].iter().collect::<String>())
    } else {
        let cut = inner.find([' ', '\t']).ok_or("`@{...}` needs a variable and its texts: `@{name a|b}`")?;
        (inner[..cut].to_string(), inner[cut..].to_string())
    };
    let selector = parse_expr(&selector, names)?;
    let rest = rest.strip_prefix([' ', '\t']).unwrap_or(&rest);
    let mut options = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in rest.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            '|' if depth == 0 => {
                options.push(parse_interp(&std::mem::take(&mut cur), names)?);
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    options.push(parse_interp(&cur, names)?);
    if options.len() < 2 {
        return Err("`@{...}` needs at least two texts separated by `|`".into());
    }
    Ok(Piece::Multi(selector, options))
}

/// Rounds halves up, as JavaScript's `Math.round`.
pub fn js_round(x: f64) -> f64 {
    (x + 0.5).floor()
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Num(x), Value::Num(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Num(x), Value::Str(s)) | (Value::Str(s), Value::Num(x)) => s.trim().parse::<f64>() == Ok(*x),
        _ => false,
    }
}

fn fair(x: f64, y: f64, op: BinOp) -> Result<f64, String> {
    if !(0.0..=100.0).contains(&x) {
        return Err(format!("fairmath needs a value between 0 and 100, not {x}"));
    }
    // As the reference: an increase is floored and at most 99, a decrease ceiled and at least 1.
    let y = if op == BinOp::FairAdd { y } else { -y };
    Ok(if y > 0.0 { (x + y * (100.0 - x) / 100.0).floor().min(99.0) } else { (x + y * x / 100.0).ceil().max(1.0) })
}

/// Longest string a script may build (1 MiB): a string doubled in a loop stops here with an
/// error instead of taking the machine's memory.
pub const MAX_STRING_BYTES: usize = 1 << 20;

fn check_len(s: &str) -> Result<(), String> {
    if s.len() > MAX_STRING_BYTES {
        return Err(format!("a string value grows to {} bytes, over the limit of {MAX_STRING_BYTES}", s.len()));
    }
    Ok(())
}

/// Evaluates an expression.
pub fn eval(e: &Expr, scope: &dyn Scope) -> Result<Value, String> {
    match e {
        Expr::Lit(v) => Ok(v.clone()),
        Expr::Text(t) => {
            let text = render(t, scope)?;
            check_len(&text)?;
            Ok(Value::Str(text))
        }
        Expr::Var(slot) => scope.get(*slot),
        Expr::Index(..) | Expr::Ref(_) => scope.get(dynamic_slot(e, scope)?),
        Expr::Call(f, arg) => {
            let v = eval(arg, scope)?;
            Ok(match f {
                Func::Not => Value::Bool(!v.truth()?),
                Func::Round => Value::Num(js_round(v.num()?)),
                Func::Length => Value::Num(v.to_string().chars().count() as f64),
            })
        }
        Expr::Bin(op, l, r) => {
            let a = eval(l, scope)?;
            if matches!(op, BinOp::And | BinOp::Or) {
                let a = a.truth()?;
                if (*op == BinOp::And) != a {
                    return Ok(Value::Bool(a));
                }
                return Ok(Value::Bool(eval(r, scope)?.truth()?));
            }
            let b = eval(r, scope)?;
            Ok(match op {
                BinOp::Concat => {
                    let joined = format!("{a}{b}");
                    check_len(&joined)?;
                    Value::Str(joined)
                }
                BinOp::Eq => Value::Bool(equal(&a, &b)),
                BinOp::Ne => Value::Bool(!equal(&a, &b)),
                _ => {
                    let (x, y) = (a.num()?, b.num()?);
                    match op {
                        BinOp::Add => Value::Num(x + y),
                        BinOp::Sub => Value::Num(x - y),
                        BinOp::Mul => Value::Num(x * y),
                        BinOp::Div | BinOp::Mod if y == 0.0 => return Err("division by zero".into()),
                        BinOp::Div => Value::Num(x / y),
                        BinOp::Pow => Value::Num(x.powf(y)),
                        BinOp::Mod => Value::Num(x % y),
                        BinOp::FairAdd | BinOp::FairSub => Value::Num(fair(x, y, *op)?),
                        BinOp::Lt => Value::Bool(x < y),
                        BinOp::Le => Value::Bool(x <= y),
                        BinOp::Gt => Value::Bool(x > y),
                        _ => Value::Bool(x >= y),
                    }
                }
            })
        }
    }
}

/// The slot an `Index` or `Ref` expression names now.
pub fn dynamic_slot(e: &Expr, scope: &dyn Scope) -> Result<Slot, String> {
    let name = match e {
        Expr::Index(base, index) => {
            let mut name = base.clone();
            for i in index {
                name.push('_');
                name.push_str(&eval(i, scope)?.to_string());
            }
            name
        }
        Expr::Ref(inner) => eval(inner, scope)?.to_string().to_lowercase(),
        _ => return Err("not a variable reference".into()),
    };
    scope.lookup(&name).ok_or_else(|| format!("unknown variable `{name}`"))
}

/// Writes interpolated text.
pub fn render(t: &Interp, scope: &dyn Scope) -> Result<String, String> {
    let mut out = String::new();
    render_into(t, scope, &mut out)?;
    Ok(out)
}

/// Appends interpolated text to `out`.
pub fn render_into(t: &Interp, scope: &dyn Scope, out: &mut String) -> Result<(), String> {
    for p in &t.0 {
        match p {
            Piece::Lit(s) => out.push_str(s),
            Piece::Value(e, case) => {
                let v = eval(e, scope)?.to_string();
                match case {
                    Case::AsIs => out.push_str(&v),
                    Case::Upper => out.push_str(&v.to_uppercase()),
                    Case::Capital => {
                        let mut cs = v.chars();
                        if let Some(c) = cs.next() {
                            out.extend(c.to_uppercase());
                            out.push_str(cs.as_str());
                        }
                    }
                }
            }
            Piece::Multi(sel, options) => {
                let k = match eval(sel, scope)? {
                    Value::Bool(b) => usize::from(!b),
                    v => {
                        let x = v.num()?;
                        if x.fract() != 0.0 || x < 1.0 || x > options.len() as f64 {
                            return Err(format!("`@{{...}}` has {} texts; its number is {x}", options.len()));
                        }
                        x as usize - 1
                    }
                };
                render_into(&options[k], scope, out)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    struct Vars(HashMap<String, Value>);

    impl Names for Vars {
        fn resolve(&self, name: &str) -> Option<Slot> {
            let mut keys: Vec<&String> = self.0.keys().collect();
            keys.sort();
            keys.iter().position(|k| *k == name).map(|i| Slot::Global(i as u32))
        }
    }

    impl Scope for Vars {
        fn get(&self, slot: Slot) -> Result<Value, String> {
            let Slot::Global(i) = slot else { return Err("no such slot".into()) };
            let mut keys: Vec<&String> = self.0.keys().collect();
            keys.sort();
            Ok(self.0[keys[i as usize]].clone())
        }
        fn lookup(&self, name: &str) -> Option<Slot> {
            self.resolve(name)
        }
    }

    fn vars() -> Vars {
        Vars(HashMap::from([
            ("strength".into(), Value::Num(40.0)),
            ("name".into(), Value::Str("ada".into())),
            ("brave".into(), Value::Bool(true)),
            ("coins_1".into(), Value::Num(3.0)),
            ("coins_2".into(), Value::Num(9.0)),
            ("which".into(), Value::Str("strength".into())),
        ]))
    }

    fn ev(src: &str) -> Result<Value, String> {
        let v = vars();
        eval(&parse_expr(src, &v)?, &v)
    }

    #[test]
    fn operators_and_the_parenthesis_rule() {
        assert_eq!(ev("(strength + 2) * 3"), Ok(Value::Num(126.0)));
        assert_eq!(ev("strength %+ 50"), Ok(Value::Num(70.0)));
        assert_eq!(ev("strength %- 25"), Ok(Value::Num(30.0)));
        assert_eq!(ev("17 modulo 5"), Ok(Value::Num(2.0)));
        assert_eq!(ev("(strength > 30) and brave"), Ok(Value::Bool(true)));
        assert_eq!(ev("not(brave) or (name = \"ada\")"), Ok(Value::Bool(true)));
        assert_eq!(ev("name & \" the bold\""), Ok(Value::Str("ada the bold".into())));
        assert_eq!(ev("length(name)"), Ok(Value::Num(3.0)));
        assert_eq!(ev("round(2.5)"), Ok(Value::Num(3.0)));
        assert_eq!(ev("coins[2] - coins[1]"), Ok(Value::Num(6.0)));
        assert_eq!(ev("{which} = 40"), Ok(Value::Bool(true)));
        assert_eq!(ev("-3 < strength"), Ok(Value::Bool(true)));
        assert!(ev("strength + 2 * 3").unwrap_err().contains("parentheses"));
        assert!(ev("(strength > 3) and brave and brave").unwrap_err().contains("parentheses"));
        assert!(ev("nobody + 1").unwrap_err().contains("unknown variable `nobody`"));
        assert!(ev("1 / 0").unwrap_err().contains("division by zero"));
        assert!(ev("(strength + 1").unwrap_err().contains("missing `)`"));
        assert!(ev("brave + 1").unwrap_err().contains("not a number"));
    }

    #[test]
    fn interpolation_cases_and_multireplace() {
        let v = vars();
        let t = |src: &str| render(&parse_interp(src, &v).expect("parses"), &v);
        assert_eq!(t("Hi ${name}, $!{name}, $!!{name}."), Ok("Hi ada, Ada, ADA.".into()));
        assert_eq!(t("You feel @{brave bold|afraid}."), Ok("You feel bold.".into()));
        assert_eq!(t("@{(strength > 50) strong|weak} and @{coins[1] one|two|three}"), Ok("weak and three".into()));
        assert_eq!(t("@{brave ${name} stands|${name} runs}"), Ok("ada stands".into()));
        assert!(t("@{coins[2] a|b}").unwrap_err().contains("has 2 texts"));
        assert!(parse_interp("${name", &v).is_err());
    }

    #[test]
    fn modifiers_apply_to_the_variable() {
        let v = vars();
        let target = || Expr::Var(v.resolve("strength").expect("declared"));
        let m = |src: &str| eval(&parse_modifier(target(), src, &v).expect("parses"), &v);
        assert_eq!(m("+5"), Ok(Value::Num(45.0)));
        assert_eq!(m("-5"), Ok(Value::Num(35.0)));
        assert_eq!(m("%+20"), Ok(Value::Num(52.0)));
        assert_eq!(m("*2"), Ok(Value::Num(80.0)));
        assert_eq!(m("7"), Ok(Value::Num(7.0)));
        assert_eq!(m("(strength / 4)"), Ok(Value::Num(10.0)));
        assert_eq!(m("+(strength * 2)"), Ok(Value::Num(120.0)));
        assert!(parse_modifier(target(), "+ 1 + 2", &v).is_err());
    }
}
