//! The expressions MACHIAVELLI's player evaluates. It rewrites a ChoiceScript expression into
//! Python (`=` to `==`, `modulo` to `%`, `^` to `**`, ...) and evaluates it with `asteval`, so its
//! games follow Python's precedence, Python's values (`int`, `float`, `bool`, `str`, `None`) and
//! Python's errors. This module is that subset of Python: a parser to a tree and an evaluator, so
//! that an expression read at load is parsed once and evaluated without any text processing.

use std::sync::Arc;

/// A Python value.
#[derive(Clone, Debug, PartialEq)]
pub enum Py {
    /// `None` (a `*temp` declared without a value).
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An `int` (Python's are unbounded; one that leaves `i64` is an error here).
    Int(i64),
    /// A `float`.
    Float(f64),
    /// A `str`.
    Str(Arc<str>),
}

/// A Python exception, as a message.
pub type PyError = String;
/// What evaluation gives.
pub type PyResult<T = Py> = Result<T, PyError>;

impl Py {
    /// A string value.
    pub fn str(s: &str) -> Py {
        Py::Str(Arc::from(s))
    }

    /// `bool(x)`.
    pub fn truthy(&self) -> bool {
        match self {
            Py::None => false,
            Py::Bool(b) => *b,
            Py::Int(i) => *i != 0,
            Py::Float(f) => *f != 0.0,
            Py::Str(s) => !s.is_empty(),
        }
    }

    /// The value as a number (`bool` counts as `int`), if it is one.
    fn num(&self) -> Option<Num> {
        match self {
            Py::Bool(b) => Some(Num::I(*b as i64)),
            Py::Int(i) => Some(Num::I(*i)),
            Py::Float(f) => Some(Num::F(*f)),
            _ => None,
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Py::None => "NoneType",
            Py::Bool(_) => "bool",
            Py::Int(_) => "int",
            Py::Float(_) => "float",
            Py::Str(_) => "str",
        }
    }

    /// `float(x)`.
    pub fn to_float(&self) -> PyResult<f64> {
        match self {
            Py::Str(s) => {
                s.trim().parse::<f64>().map_err(|_| format!("ValueError: could not convert string to float: '{s}'"))
            }
            v => v
                .num()
                .map(Num::f)
                .ok_or_else(|| format!("TypeError: float() argument must be a number, not '{}'", v.type_name())),
        }
    }

    /// `int(x)`.
    pub fn to_int(&self) -> PyResult<i64> {
        match self {
            Py::Str(s) => s
                .trim()
                .parse::<i64>()
                .map_err(|_| format!("ValueError: invalid literal for int() with base 10: '{s}'")),
            Py::Float(f) => float_to_int(f.trunc()),
            v => match v.num() {
                Some(Num::I(i)) => Ok(i),
                _ => Err(format!("TypeError: int() argument must be a number, not '{}'", v.type_name())),
            },
        }
    }
}

/// `str(x)`, as Python prints it (`True`, `3`, `3.0`, `1e+16`).
impl std::fmt::Display for Py {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Py::None => f.write_str("None"),
            Py::Bool(true) => f.write_str("True"),
            Py::Bool(false) => f.write_str("False"),
            Py::Int(i) => write!(f, "{i}"),
            Py::Float(x) => f.write_str(&float_repr(*x)),
            Py::Str(s) => f.write_str(s),
        }
    }
}

/// Python's `repr` of a float: the shortest digits that read back, in fixed notation for
/// exponents -4 to 15 and scientific notation otherwise.
pub fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = mantissa.strip_prefix('-').map_or(("", mantissa), |m| ("-", m));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1;
        let body = if point <= 0 {
            format!("0.{}{digits}", "0".repeat((-point) as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
        };
        format!("{sign}{body}")
    } else {
        let m = if digits.len() > 1 { format!("{}.{}", &digits[..1], &digits[1..]) } else { digits };
        format!("{sign}{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

fn float_to_int(f: f64) -> PyResult<i64> {
    if f.is_finite() && f.abs() < 9.2e18 {
        Ok(f as i64)
    } else {
        Err(format!("OverflowError: cannot convert float {} to integer", float_repr(f)))
    }
}

#[derive(Clone, Copy)]
enum Num {
    I(i64),
    F(f64),
}

impl Num {
    fn f(self) -> f64 {
        match self {
            Num::I(i) => i as f64,
            Num::F(f) => f,
        }
    }
}

/// A binary arithmetic operator. (variants named as Python names them).
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
    Pow,
}

/// A comparison operator. (variants named as Python names them).
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
}

/// A function an expression may call. (variants named as Python names them).
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Func {
    /// MACHIAVELLI's `round_to_int` (its rewrite of ChoiceScript's `round`): Python's `round`.
    Round,
    Int,
    Float,
    Str,
    Abs,
    Min,
    Max,
    Len,
    Bool,
}

/// A parsed expression; variables are ids the caller's resolver gave. (variants named as Python names them).
#[allow(missing_docs)]
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Const(Py),
    Var(u32),
    Neg(Box<Expr>),
    Pos(Box<Expr>),
    Not(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    /// A chain `a < b <= c`: each comparison holds, each operand evaluated once.
    Cmp(Box<Expr>, Vec<(CmpOp, Expr)>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
    Index(Box<Expr>, Box<Expr>),
}

/// Where an expression's variables are read.
pub trait Scope {
    /// The value of variable `id`; a `NameError` message if it has none.
    fn get(&self, id: u32) -> PyResult;
}

impl Expr {
    /// Evaluates in `scope`.
    pub fn eval(&self, scope: &dyn Scope) -> PyResult {
        Ok(match self {
            Expr::Const(v) => v.clone(),
            Expr::Var(id) => scope.get(*id)?,
            Expr::Neg(e) => {
                let v = e.eval(scope)?;
                match v.num() {
                    Some(Num::I(i)) => Py::Int(i.checked_neg().ok_or_else(overflow)?),
                    Some(Num::F(f)) => Py::Float(-f),
                    None => return Err(format!("TypeError: bad operand type for unary -: '{}'", v.type_name())),
                }
            }
            Expr::Pos(e) => {
                let v = e.eval(scope)?;
                match v.num() {
                    Some(Num::I(i)) => Py::Int(i),
                    Some(Num::F(f)) => Py::Float(f),
                    None => return Err(format!("TypeError: bad operand type for unary +: '{}'", v.type_name())),
                }
            }
            Expr::Not(e) => Py::Bool(!e.eval(scope)?.truthy()),
            Expr::Bin(op, a, b) => binary(*op, &a.eval(scope)?, &b.eval(scope)?)?,
            Expr::Cmp(first, rest) => {
                let mut left = first.eval(scope)?;
                for (op, e) in rest {
                    let right = e.eval(scope)?;
                    if !compare(*op, &left, &right)? {
                        return Ok(Py::Bool(false));
                    }
                    left = right;
                }
                Py::Bool(true)
            }
            Expr::And(a, b) => {
                let l = a.eval(scope)?;
                if l.truthy() { b.eval(scope)? } else { l }
            }
            Expr::Or(a, b) => {
                let l = a.eval(scope)?;
                if l.truthy() { l } else { b.eval(scope)? }
            }
            Expr::Call(f, args) => {
                let args = args.iter().map(|a| a.eval(scope)).collect::<PyResult<Vec<_>>>()?;
                call(*f, &args)?
            }
            Expr::Index(s, i) => {
                let (s, i) = (s.eval(scope)?, i.eval(scope)?);
                let Py::Str(s) = &s else {
                    return Err(format!("TypeError: '{}' object is not subscriptable", s.type_name()));
                };
                Py::str(&char_at(s, i.to_int()?)?.to_string())
            }
        })
    }
}

fn overflow() -> PyError {
    "OverflowError: integer outside 64 bits".into()
}

/// Python's `s[i]` on characters, negative indices from the end.
pub fn char_at(s: &str, i: i64) -> PyResult<char> {
    let n = s.chars().count() as i64;
    let k = if i < 0 { i + n } else { i };
    if !(0..n).contains(&k) {
        return Err("IndexError: string index out of range".into());
    }
    Ok(s.chars().nth(k as usize).unwrap_or(' '))
}

/// `a op b` on two values.
pub fn binary(op: BinOp, a: &Py, b: &Py) -> PyResult {
    if let (Some(x), Some(y)) = (a.num(), b.num()) {
        return arith(op, x, y);
    }
    match (op, a, b) {
        (BinOp::Add, Py::Str(x), Py::Str(y)) => Ok(Py::str(&format!("{x}{y}"))),
        (BinOp::Mul, Py::Str(s), n) | (BinOp::Mul, n, Py::Str(s)) if matches!(n.num(), Some(Num::I(_))) => {
            let k = n.to_int()?.max(0) as usize;
            if s.len().saturating_mul(k) > crate::text::choicescript::expr::MAX_STRING_BYTES {
                return Err("MemoryError: string over 1 MiB".into());
            }
            Ok(Py::str(&s.repeat(k)))
        }
        _ => Err(format!(
            "TypeError: unsupported operand type(s) for {}: '{}' and '{}'",
            match op {
                BinOp::Add => "+",
                BinOp::Sub => "-",
                BinOp::Mul => "*",
                BinOp::Div => "/",
                BinOp::FloorDiv => "//",
                BinOp::Mod => "%",
                BinOp::Pow => "**",
            },
            a.type_name(),
            b.type_name()
        )),
    }
}

fn arith(op: BinOp, x: Num, y: Num) -> PyResult {
    let zero = || "ZeroDivisionError: division by zero".to_string();
    if let (Num::I(a), Num::I(b)) = (x, y) {
        return Ok(Py::Int(match op {
            BinOp::Add => a.checked_add(b).ok_or_else(overflow)?,
            BinOp::Sub => a.checked_sub(b).ok_or_else(overflow)?,
            BinOp::Mul => a.checked_mul(b).ok_or_else(overflow)?,
            BinOp::Div => {
                if b == 0 {
                    return Err(zero());
                }
                return Ok(Py::Float(a as f64 / b as f64));
            }
            BinOp::FloorDiv => {
                if b == 0 {
                    return Err(zero());
                }
                let q = a.checked_div(b).ok_or_else(overflow)?;
                if a % b != 0 && (a < 0) != (b < 0) { q - 1 } else { q }
            }
            BinOp::Mod => {
                if b == 0 {
                    return Err(zero());
                }
                let r = a.checked_rem(b).ok_or_else(overflow)?;
                if r != 0 && (r < 0) != (b < 0) { r + b } else { r }
            }
            BinOp::Pow => {
                if b < 0 {
                    if a == 0 {
                        return Err("ZeroDivisionError: 0.0 cannot be raised to a negative power".into());
                    }
                    return Ok(Py::Float((a as f64).powf(b as f64)));
                }
                a.checked_pow(u32::try_from(b).map_err(|_| overflow())?).ok_or_else(overflow)?
            }
        }));
    }
    let (a, b) = (x.f(), y.f());
    Ok(Py::Float(match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div | BinOp::FloorDiv | BinOp::Mod if b == 0.0 => return Err(zero()),
        BinOp::Div => a / b,
        BinOp::FloorDiv => (a / b).floor(),
        BinOp::Mod => {
            let r = a % b;
            if r != 0.0 && (r < 0.0) != (b < 0.0) { r + b } else { r }
        }
        BinOp::Pow => {
            if a == 0.0 && b < 0.0 {
                return Err("ZeroDivisionError: 0.0 cannot be raised to a negative power".into());
            }
            let p = a.powf(b);
            if p.is_nan() {
                return Err("ValueError: a negative number raised to a fractional power is complex".into());
            }
            p
        }
    }))
}

fn compare(op: CmpOp, a: &Py, b: &Py) -> PyResult<bool> {
    use std::cmp::Ordering;
    let order: Option<Ordering> = match (a, b) {
        (Py::Str(x), Py::Str(y)) => Some(x.cmp(y)),
        _ => match (a.num(), b.num()) {
            (Some(Num::I(x)), Some(Num::I(y))) => Some(x.cmp(&y)),
            (Some(x), Some(y)) => x.f().partial_cmp(&y.f()),
            _ => None,
        },
    };
    let both_numbers = a.num().is_some() && b.num().is_some();
    Ok(match op {
        CmpOp::Eq => {
            if both_numbers || matches!((a, b), (Py::Str(_), Py::Str(_))) {
                order == Some(Ordering::Equal)
            } else {
                matches!((a, b), (Py::None, Py::None))
            }
        }
        CmpOp::Ne => !compare(CmpOp::Eq, a, b)?,
        CmpOp::In | CmpOp::NotIn => {
            let (Py::Str(needle), Py::Str(hay)) = (a, b) else {
                return Err(format!("TypeError: argument of type '{}' is not iterable", b.type_name()));
            };
            hay.contains(&**needle) == (op == CmpOp::In)
        }
        _ => {
            let Some(o) = order else {
                if both_numbers {
                    return Ok(false); // nan
                }
                return Err(format!(
                    "TypeError: '<' not supported between instances of '{}' and '{}'",
                    a.type_name(),
                    b.type_name()
                ));
            };
            match op {
                CmpOp::Lt => o == Ordering::Less,
                CmpOp::Le => o != Ordering::Greater,
                CmpOp::Gt => o == Ordering::Greater,
                _ => o != Ordering::Less,
            }
        }
    })
}

/// Python's `round(x)`: halves to even, an `int`.
pub fn py_round(v: &Py) -> PyResult {
    match v.num() {
        Some(Num::I(i)) => Ok(Py::Int(i)),
        Some(Num::F(f)) => Ok(Py::Int(float_to_int(f.round_ties_even())?)),
        None => Err(format!("TypeError: type {} doesn't define __round__ method", v.type_name())),
    }
}

fn call(f: Func, args: &[Py]) -> PyResult {
    let one = || -> PyResult<&Py> {
        if args.len() == 1 {
            Ok(&args[0])
        } else {
            Err(format!("TypeError: {f:?}() takes 1 argument ({} given)", args.len()))
        }
    };
    Ok(match f {
        Func::Round => py_round(one()?)?,
        Func::Int => Py::Int(one()?.to_int()?),
        Func::Float => Py::Float(one()?.to_float()?),
        Func::Str => Py::str(&one()?.to_string()),
        Func::Bool => Py::Bool(one()?.truthy()),
        Func::Len => match one()? {
            Py::Str(s) => Py::Int(s.chars().count() as i64),
            v => return Err(format!("TypeError: object of type '{}' has no len()", v.type_name())),
        },
        Func::Abs => match one()?.num() {
            Some(Num::I(i)) => Py::Int(i.checked_abs().ok_or_else(overflow)?),
            Some(Num::F(x)) => Py::Float(x.abs()),
            None => return Err("TypeError: bad operand type for abs()".into()),
        },
        Func::Min | Func::Max => {
            let mut best = args.first().ok_or("TypeError: min/max expected at least 1 argument")?.clone();
            for a in &args[1..] {
                let better = if f == Func::Min { compare(CmpOp::Lt, a, &best)? } else { compare(CmpOp::Gt, a, &best)? };
                if better {
                    best = a.clone();
                }
            }
            best
        }
    })
}

/// Parses `text` as a Python expression; `resolve` gives each variable name its id.
pub fn parse(text: &str, resolve: &mut dyn FnMut(&str) -> u32) -> PyResult<Expr> {
    let tokens = tokenize(text)?;
    let mut p = Parser { tokens, pos: 0, resolve };
    let e = p.or()?;
    match p.tokens.get(p.pos) {
        None => Ok(e),
        Some(t) => Err(format!("SyntaxError: unexpected {t:?} in `{text}`")),
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Name(String),
    Num(Py),
    Str(String),
    Op(&'static str),
}

const OPS: [&str; 21] =
    ["**", "//", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "(", ")", "[", "]", ",", "~", "&", "|"];

fn tokenize(text: &str) -> PyResult<Vec<Tok>> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok::Name(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            let start = i;
            let mut float = false;
            while i < chars.len() {
                let d = chars[i];
                if d.is_ascii_digit() || d == '_' {
                    i += 1;
                } else if d == '.' && !float {
                    float = true;
                    i += 1;
                } else if (d == 'e' || d == 'E')
                    && (chars.get(i + 1).is_some_and(|x| x.is_ascii_digit())
                        || (matches!(chars.get(i + 1), Some('+' | '-'))
                            && chars.get(i + 2).is_some_and(|x| x.is_ascii_digit())))
                {
                    float = true;
                    i += 2;
                } else {
                    break;
                }
            }
            let s: String = chars[start..i].iter().filter(|c| **c != '_').collect();
            let bad = || format!("SyntaxError: bad number `{s}`");
            out.push(Tok::Num(if float {
                Py::Float(s.parse().map_err(|_| bad())?)
            } else {
                Py::Int(s.parse().map_err(|_| bad())?)
            }));
        } else if c == '"' || c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(format!("SyntaxError: unterminated string in `{text}`")),
                    Some(&q) if q == c => break,
                    Some('\\') => {
                        let e = *chars.get(i + 1).ok_or("SyntaxError: unterminated string")?;
                        match e {
                            'n' => s.push('\n'),
                            't' => s.push('\t'),
                            '\\' | '\'' | '"' => s.push(e),
                            _ => {
                                s.push('\\');
                                s.push(e);
                            }
                        }
                        i += 2;
                        continue;
                    }
                    Some(&x) => s.push(x),
                }
                i += 1;
            }
            i += 1;
            out.push(Tok::Str(s));
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let op = OPS
                .iter()
                .find(|op| rest.starts_with(**op))
                .ok_or_else(|| format!("SyntaxError: unexpected `{c}` in `{text}`"))?;
            out.push(Tok::Op(op));
            i += op.chars().count();
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: Vec<Tok>,
    pos: usize,
    resolve: &'a mut dyn FnMut(&str) -> u32,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos)
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(o)) if *o == op)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Name(n)) if n == w)
    }

    fn expect(&mut self, op: &str) -> PyResult<()> {
        if self.is_op(op) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("SyntaxError: expected `{op}`, found {:?}", self.peek()))
        }
    }

    fn or(&mut self) -> PyResult<Expr> {
        let mut e = self.and()?;
        while self.is_word("or") {
            self.pos += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> PyResult<Expr> {
        let mut e = self.not()?;
        while self.is_word("and") {
            self.pos += 1;
            e = Expr::And(Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }

    fn not(&mut self) -> PyResult<Expr> {
        if self.is_word("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> PyResult<Expr> {
        let first = self.arith()?;
        let mut rest = Vec::new();
        loop {
            let op = match self.peek() {
                Some(Tok::Op("==")) => CmpOp::Eq,
                Some(Tok::Op("!=")) => CmpOp::Ne,
                Some(Tok::Op("<")) => CmpOp::Lt,
                Some(Tok::Op("<=")) => CmpOp::Le,
                Some(Tok::Op(">")) => CmpOp::Gt,
                Some(Tok::Op(">=")) => CmpOp::Ge,
                Some(Tok::Name(n)) if n == "in" => CmpOp::In,
                Some(Tok::Name(n))
                    if n == "not" && matches!(self.tokens.get(self.pos + 1), Some(Tok::Name(m)) if m == "in") =>
                {
                    self.pos += 1;
                    CmpOp::NotIn
                }
                _ => break,
            };
            self.pos += 1;
            rest.push((op, self.arith()?));
        }
        Ok(if rest.is_empty() { first } else { Expr::Cmp(Box::new(first), rest) })
    }

    fn arith(&mut self) -> PyResult<Expr> {
        let mut e = self.term()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Op("+")) => BinOp::Add,
                Some(Tok::Op("-")) => BinOp::Sub,
                _ => return Ok(e),
            };
            self.pos += 1;
            e = Expr::Bin(op, Box::new(e), Box::new(self.term()?));
        }
    }

    fn term(&mut self) -> PyResult<Expr> {
        let mut e = self.factor()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Op("*")) => BinOp::Mul,
                Some(Tok::Op("/")) => BinOp::Div,
                Some(Tok::Op("//")) => BinOp::FloorDiv,
                Some(Tok::Op("%")) => BinOp::Mod,
                _ => return Ok(e),
            };
            self.pos += 1;
            e = Expr::Bin(op, Box::new(e), Box::new(self.factor()?));
        }
    }

    fn factor(&mut self) -> PyResult<Expr> {
        if self.is_op("-") {
            self.pos += 1;
            let inner = self.factor()?;
            // A negative literal is a constant (so `-1` needs no evaluation).
            return Ok(match inner {
                Expr::Const(Py::Int(i)) => Expr::Const(Py::Int(-i)),
                Expr::Const(Py::Float(f)) => Expr::Const(Py::Float(-f)),
                e => Expr::Neg(Box::new(e)),
            });
        }
        if self.is_op("+") {
            self.pos += 1;
            return Ok(Expr::Pos(Box::new(self.factor()?)));
        }
        let base = self.postfix()?;
        if self.is_op("**") {
            self.pos += 1;
            return Ok(Expr::Bin(BinOp::Pow, Box::new(base), Box::new(self.factor()?)));
        }
        Ok(base)
    }

    fn postfix(&mut self) -> PyResult<Expr> {
        let mut e = self.atom()?;
        while self.is_op("[") {
            self.pos += 1;
            let i = self.or()?;
            self.expect("]")?;
            e = Expr::Index(Box::new(e), Box::new(i));
        }
        Ok(e)
    }

    fn atom(&mut self) -> PyResult<Expr> {
        let t = self.peek().cloned().ok_or("SyntaxError: unexpected end of expression")?;
        self.pos += 1;
        match t {
            Tok::Num(v) => Ok(Expr::Const(v)),
            Tok::Str(s) => {
                // Adjacent literals join, as in Python.
                let mut s = s;
                while let Some(Tok::Str(more)) = self.peek() {
                    s.push_str(more);
                    self.pos += 1;
                }
                Ok(Expr::Const(Py::str(&s)))
            }
            Tok::Op("(") => {
                let e = self.or()?;
                self.expect(")")?;
                Ok(e)
            }
            Tok::Name(n) => {
                match n.as_str() {
                    "True" => return Ok(Expr::Const(Py::Bool(true))),
                    "False" => return Ok(Expr::Const(Py::Bool(false))),
                    "None" => return Ok(Expr::Const(Py::None)),
                    "and" | "or" | "not" | "in" | "is" | "if" | "else" | "lambda" => {
                        return Err(format!("SyntaxError: unexpected `{n}`"));
                    }
                    _ => {}
                }
                if self.is_op("(") {
                    let f = match n.as_str() {
                        "round_to_int" | "round" => Func::Round,
                        "int" => Func::Int,
                        "float" => Func::Float,
                        "str" => Func::Str,
                        "abs" => Func::Abs,
                        "min" => Func::Min,
                        "max" => Func::Max,
                        "len" => Func::Len,
                        "bool" => Func::Bool,
                        _ => return Err(format!("NameError: name '{n}' is not defined")),
                    };
                    self.pos += 1;
                    let mut args = Vec::new();
                    while !self.is_op(")") {
                        args.push(self.or()?);
                        if !self.is_op(")") {
                            self.expect(",")?;
                        }
                    }
                    self.pos += 1;
                    return Ok(Expr::Call(f, args));
                }
                Ok(Expr::Var((self.resolve)(&n)))
            }
            Tok::Op(o) => Err(format!("SyntaxError: unexpected `{o}`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Vars(Vec<(String, Py)>);
    impl Scope for Vars {
        fn get(&self, id: u32) -> PyResult {
            self.0.get(id as usize).map(|(_, v)| v.clone()).ok_or_else(|| "NameError".into())
        }
    }

    fn eval(text: &str) -> PyResult {
        let mut vars = Vars(vec![
            ("x".into(), Py::Int(7)),
            ("s".into(), Py::str("Mira")),
            ("f".into(), Py::Float(2.5)),
            ("t".into(), Py::Bool(true)),
        ]);
        let names: Vec<String> = vars.0.iter().map(|(n, _)| n.clone()).collect();
        let mut extra = Vec::new();
        let e = parse(text, &mut |n| match names.iter().position(|m| m == n) {
            Some(i) => i as u32,
            None => {
                extra.push(n.to_string());
                (names.len() + extra.len() - 1) as u32
            }
        })?;
        vars.0.truncate(4);
        e.eval(&vars)
    }

    #[test]
    fn python_precedence_and_values() {
        assert_eq!(eval("x > 5 and x < 10"), Ok(Py::Bool(true)));
        assert_eq!(eval("not x == 7 or f > 2"), Ok(Py::Bool(true)));
        assert_eq!(eval("1 < x < 5"), Ok(Py::Bool(false)), "comparisons chain");
        assert_eq!(eval("x / 2"), Ok(Py::Float(3.5)));
        assert_eq!(eval("x // 2"), Ok(Py::Int(3)));
        assert_eq!(eval("-7 // 2"), Ok(Py::Int(-4)));
        assert_eq!(eval("-7 % 3"), Ok(Py::Int(2)));
        assert_eq!(eval("2 ** 3 ** 2"), Ok(Py::Int(512)), "power is right-associative");
        assert_eq!(eval("-2 ** 2"), Ok(Py::Int(-4)));
        assert_eq!(eval("t + 1"), Ok(Py::Int(2)), "a bool is an int");
        assert_eq!(eval("x and s"), Ok(Py::str("Mira")), "`and` gives an operand");
        assert_eq!(eval("s + \"!\""), Ok(Py::str("Mira!")));
        assert_eq!(eval("s[0] + s[-1]"), Ok(Py::str("Ma")));
        assert_eq!(eval("round_to_int(2.5) + round(3.5)"), Ok(Py::Int(6)), "halves go to even");
        assert_eq!(eval("s == 7"), Ok(Py::Bool(false)));
        assert!(eval("s < 7").unwrap_err().starts_with("TypeError"));
        assert!(eval("x / 0").unwrap_err().starts_with("ZeroDivisionError"));
        assert!(eval("nope(1)").unwrap_err().starts_with("NameError"));
        assert!(eval("(x").unwrap_err().starts_with("SyntaxError"));
        assert!(eval("y + 1").unwrap_err().starts_with("NameError"));
    }

    #[test]
    fn floats_print_as_python_prints_them() {
        for (x, s) in [
            (3.0, "3.0"),
            (2.5, "2.5"),
            (0.1, "0.1"),
            (-0.0001, "-0.0001"),
            (0.00001, "1e-05"),
            (1e16, "1e+16"),
            (123456789012345.6, "123456789012345.6"),
            (1.5e300, "1.5e+300"),
        ] {
            assert_eq!(float_repr(x), s);
        }
        assert_eq!(Py::Bool(true).to_string(), "True");
    }
}
