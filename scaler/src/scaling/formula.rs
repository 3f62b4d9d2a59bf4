//! `advanced.scalingModifiers.formula`: the subset of expr-lang (the language KEDA evaluates
//! formulas in) that composes trigger values: numbers, trigger names, `nil`, `true`/`false`,
//! `+ - * / % ** ^`, comparisons, `&& || ! and or not`, `cond ? a : b`, `a ?? b`, parentheses,
//! and the functions `abs ceil floor round min max float int`.
//!
//! Written by hand because no crate parses expr-lang syntax (evalexpr, for one, has no ternary
//! or `??`). Trigger values are floats; a failed trigger is `nil` (KEDA's `scalingModifiers`
//! fallback behavior), which `??` replaces.

use std::collections::BTreeMap;
use std::fmt;

/// A parsed formula.
#[derive(Debug, Clone, PartialEq)]
pub struct Formula {
    expr: Expr,
    source: String,
}

/// A value during evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Num(f64),
    Bool(bool),
    Nil,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Num(f64),
    Bool(bool),
    Nil,
    Var(String),
    Unary(char, Box<Expr>),
    Binary(&'static str, Box<Expr>, Box<Expr>),
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
}

/// Why a formula does not compile or evaluate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct FormulaError(pub String);

const FUNCTIONS: &[&str] = &[
    "abs", "ceil", "floor", "round", "min", "max", "float", "int",
];

impl Formula {
    /// Parses `source` and checks that every name it uses is one of `names` (trigger names).
    pub fn compile(source: &str, names: &[&str]) -> Result<Self, FormulaError> {
        let tokens = lex(source)?;
        let mut p = Parser { tokens, pos: 0 };
        let expr = p.ternary()?;
        if p.pos != p.tokens.len() {
            return Err(FormulaError(format!(
                "unexpected token {} in formula {source:?}",
                p.tokens[p.pos]
            )));
        }
        let f = Formula {
            expr,
            source: source.to_string(),
        };
        let mut used = Vec::new();
        collect_vars(&f.expr, &mut used);
        if let Some(unknown) = used.iter().find(|v| !names.contains(&v.as_str())) {
            return Err(FormulaError(format!(
                "unknown name {unknown} in formula {source:?} (it must be the name of a trigger)"
            )));
        }
        Ok(f)
    }

    /// The trigger names the formula reads.
    pub fn variables(&self) -> Vec<String> {
        let mut v = Vec::new();
        collect_vars(&self.expr, &mut v);
        v.sort();
        v.dedup();
        v
    }

    /// Evaluates with trigger values (`None` = the trigger failed → `nil`). The result is a
    /// number, or `None` when the formula yields `nil`.
    pub fn eval(&self, vars: &BTreeMap<String, Option<f64>>) -> Result<Option<f64>, FormulaError> {
        match eval(&self.expr, vars)? {
            Value::Num(n) => Ok(Some(n)),
            Value::Nil => Ok(None),
            Value::Bool(_) => Err(FormulaError(format!(
                "formula {:?} yields a boolean, not a number",
                self.source
            ))),
        }
    }
}

fn collect_vars(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::Var(v) => out.push(v.clone()),
        Expr::Unary(_, a) => collect_vars(a, out),
        Expr::Binary(_, a, b) => {
            collect_vars(a, out);
            collect_vars(b, out);
        }
        Expr::Ternary(a, b, c) => {
            collect_vars(a, out);
            collect_vars(b, out);
            collect_vars(c, out);
        }
        Expr::Call(_, args) => args.iter().for_each(|a| collect_vars(a, out)),
        Expr::Num(_) | Expr::Bool(_) | Expr::Nil => {}
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Ident(String),
    Op(&'static str),
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Num(n) => write!(f, "{n}"),
            Tok::Ident(s) => write!(f, "{s:?}"),
            Tok::Op(o) => write!(f, "{o:?}"),
        }
    }
}

const OPS: &[&str] = &[
    "**", "??", "&&", "||", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "^", "<", ">", "!",
    "?", ":", "(", ")", ",",
];

fn lex(src: &str) -> Result<Vec<Tok>, FormulaError> {
    let mut out = Vec::new();
    let b = src.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || (c == '.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let start = i;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.' || b[i] == b'_') {
                i += 1;
            }
            if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
                i += 1;
                if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                    i += 1;
                }
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            let text = src[start..i].replace('_', "");
            let n = text
                .parse::<f64>()
                .map_err(|_| FormulaError(format!("invalid number {text:?} in formula")))?;
            out.push(Tok::Num(n));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Ident(src[start..i].to_string()));
        } else if let Some(op) = OPS.iter().find(|op| src[i..].starts_with(**op)) {
            out.push(Tok::Op(op));
            i += op.len();
        } else {
            return Err(FormulaError(format!(
                "unexpected character {c:?} in formula {src:?}"
            )));
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Tok>,
    pos: usize,
}

/// Binary operators by precedence, lowest first (expr-lang's order).
const LEVELS: &[&[&str]] = &[
    &["??"],
    &["||", "or"],
    &["&&", "and"],
    &["==", "!="],
    &["<", ">", "<=", ">="],
    &["+", "-"],
    &["*", "/", "%"],
];

impl Parser {
    fn peek_op(&self) -> Option<&str> {
        match self.tokens.get(self.pos) {
            Some(Tok::Op(o)) => Some(o),
            Some(Tok::Ident(w)) if matches!(w.as_str(), "and" | "or" | "not") => Some(w.as_str()),
            _ => None,
        }
    }

    fn expect(&mut self, op: &str) -> Result<(), FormulaError> {
        if self.peek_op() == Some(op) {
            self.pos += 1;
            Ok(())
        } else {
            Err(FormulaError(format!(
                "expected {op:?} in formula, found {}",
                self.tokens
                    .get(self.pos)
                    .map_or("end of formula".to_string(), ToString::to_string)
            )))
        }
    }

    fn ternary(&mut self) -> Result<Expr, FormulaError> {
        let cond = self.binary(0)?;
        if self.peek_op() == Some("?") {
            self.pos += 1;
            let a = self.ternary()?;
            self.expect(":")?;
            let b = self.ternary()?;
            return Ok(Expr::Ternary(Box::new(cond), Box::new(a), Box::new(b)));
        }
        Ok(cond)
    }

    fn binary(&mut self, level: usize) -> Result<Expr, FormulaError> {
        if level == LEVELS.len() {
            return self.power();
        }
        let mut left = self.binary(level + 1)?;
        while let Some(op) = self
            .peek_op()
            .and_then(|o| LEVELS[level].iter().find(|l| **l == o))
        {
            let op: &'static str = match *op {
                "or" => "||",
                "and" => "&&",
                o => o,
            };
            self.pos += 1;
            let right = self.binary(level + 1)?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn power(&mut self) -> Result<Expr, FormulaError> {
        let base = self.unary()?;
        if matches!(self.peek_op(), Some("**" | "^")) {
            self.pos += 1;
            let exp = self.power()?; // right-associative
            return Ok(Expr::Binary("**", Box::new(base), Box::new(exp)));
        }
        Ok(base)
    }

    fn unary(&mut self) -> Result<Expr, FormulaError> {
        match self.peek_op() {
            Some("-") => {
                self.pos += 1;
                Ok(Expr::Unary('-', Box::new(self.unary()?)))
            }
            Some("+") => {
                self.pos += 1;
                self.unary()
            }
            Some("!" | "not") => {
                self.pos += 1;
                Ok(Expr::Unary('!', Box::new(self.unary()?)))
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<Expr, FormulaError> {
        let tok = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        match tok {
            Some(Tok::Num(n)) => Ok(Expr::Num(n)),
            Some(Tok::Op("(")) => {
                let e = self.ternary()?;
                self.expect(")")?;
                Ok(e)
            }
            Some(Tok::Ident(name)) => match name.as_str() {
                "true" => Ok(Expr::Bool(true)),
                "false" => Ok(Expr::Bool(false)),
                "nil" => Ok(Expr::Nil),
                _ if self.peek_op() == Some("(") => {
                    if !FUNCTIONS.contains(&name.as_str()) {
                        return Err(FormulaError(format!("unknown function {name}()")));
                    }
                    self.pos += 1;
                    let mut args = Vec::new();
                    if self.peek_op() != Some(")") {
                        loop {
                            args.push(self.ternary()?);
                            if self.peek_op() == Some(",") {
                                self.pos += 1;
                            } else {
                                break;
                            }
                        }
                    }
                    self.expect(")")?;
                    Ok(Expr::Call(name, args))
                }
                _ => Ok(Expr::Var(name)),
            },
            Some(t) => Err(FormulaError(format!("unexpected token {t} in formula"))),
            None => Err(FormulaError("unexpected end of formula".to_string())),
        }
    }
}

fn num(v: Value, what: &str) -> Result<f64, FormulaError> {
    match v {
        Value::Num(n) => Ok(n),
        other => Err(FormulaError(format!(
            "{what} needs a number, got {}",
            match other {
                Value::Bool(_) => "a boolean",
                _ => "nil",
            }
        ))),
    }
}

fn truthy(v: Value) -> Result<bool, FormulaError> {
    match v {
        Value::Bool(b) => Ok(b),
        _ => Err(FormulaError("condition must be a boolean".to_string())),
    }
}

fn eval(e: &Expr, vars: &BTreeMap<String, Option<f64>>) -> Result<Value, FormulaError> {
    Ok(match e {
        Expr::Num(n) => Value::Num(*n),
        Expr::Bool(b) => Value::Bool(*b),
        Expr::Nil => Value::Nil,
        Expr::Var(v) => match vars.get(v) {
            Some(Some(n)) => Value::Num(*n),
            Some(None) => Value::Nil,
            None => return Err(FormulaError(format!("unknown name {v}"))),
        },
        Expr::Unary('-', a) => Value::Num(-num(eval(a, vars)?, "unary -")?),
        Expr::Unary(_, a) => Value::Bool(!truthy(eval(a, vars)?)?),
        Expr::Ternary(c, a, b) => {
            if truthy(eval(c, vars)?)? {
                eval(a, vars)?
            } else {
                eval(b, vars)?
            }
        }
        Expr::Binary("??", a, b) => match eval(a, vars)? {
            Value::Nil => eval(b, vars)?,
            v => v,
        },
        Expr::Binary("&&", a, b) => Value::Bool(truthy(eval(a, vars)?)? && truthy(eval(b, vars)?)?),
        Expr::Binary("||", a, b) => Value::Bool(truthy(eval(a, vars)?)? || truthy(eval(b, vars)?)?),
        Expr::Binary(op @ ("==" | "!="), a, b) => {
            let eq = eval(a, vars)? == eval(b, vars)?;
            Value::Bool(if *op == "==" { eq } else { !eq })
        }
        Expr::Binary(op, a, b) => {
            let x = num(eval(a, vars)?, op)?;
            let y = num(eval(b, vars)?, op)?;
            match *op {
                "+" => Value::Num(x + y),
                "-" => Value::Num(x - y),
                "*" => Value::Num(x * y),
                "/" => Value::Num(x / y),
                "%" => Value::Num(x % y),
                "**" => Value::Num(x.powf(y)),
                "<" => Value::Bool(x < y),
                ">" => Value::Bool(x > y),
                "<=" => Value::Bool(x <= y),
                ">=" => Value::Bool(x >= y),
                other => return Err(FormulaError(format!("unknown operator {other}"))),
            }
        }
        Expr::Call(f, args) => {
            let vals = args
                .iter()
                .map(|a| num(eval(a, vars)?, f))
                .collect::<Result<Vec<_>, _>>()?;
            let one = || {
                if vals.len() == 1 {
                    Ok(vals[0])
                } else {
                    Err(FormulaError(format!("{f}() takes exactly one argument")))
                }
            };
            Value::Num(match f.as_str() {
                "abs" => one()?.abs(),
                "ceil" => one()?.ceil(),
                "floor" => one()?.floor(),
                "round" => one()?.round(),
                "float" => one()?,
                "int" => one()?.trunc(),
                "min" | "max" if !vals.is_empty() => {
                    let it = vals.iter().copied();
                    if f == "min" {
                        it.fold(f64::INFINITY, f64::min)
                    } else {
                        it.fold(f64::NEG_INFINITY, f64::max)
                    }
                }
                _ => return Err(FormulaError(format!("{f}() needs arguments"))),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, Option<f64>)]) -> BTreeMap<String, Option<f64>> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn evaluates_keda_style_formulas() {
        let names = ["trig_one", "trig_two"];
        let v = vars(&[("trig_one", Some(4.0)), ("trig_two", Some(6.0))]);
        let cases: &[(&str, f64)] = &[
            ("(trig_one + trig_two)/2", 5.0),
            ("trig_one > 2 ? trig_one : trig_two", 4.0),
            ("trig_one < 2 ? trig_one : trig_two", 6.0),
            ("max(trig_one, trig_two) * 2", 12.0),
            ("2 ** 3 + -trig_one", 4.0),
            ("2 ^ 3 ^ 2", 512.0),
            ("trig_one % 3", 1.0),
            ("1 + 2 * 3", 7.0),
            ("trig_one == 4 && !(trig_two < 1) ? 1 : 0", 1.0),
            ("trig_one > 10 or trig_two > 5 ? 1.5 : 0", 1.5),
            (
                "ceil(trig_two / 4) + floor(1.9) + abs(-1) + round(0.5)",
                5.0,
            ),
            ("float(trig_one) + int(2.7)", 6.0),
        ];
        for (src, want) in cases {
            let f = Formula::compile(src, &names).unwrap_or_else(|e| panic!("{src}: {e}"));
            assert_eq!(f.eval(&v).unwrap(), Some(*want), "{src}");
        }
    }

    #[test]
    fn nil_coalescing_for_failed_triggers() {
        let f = Formula::compile("(a ?? 10) + b", &["a", "b"]).unwrap();
        assert_eq!(
            f.eval(&vars(&[("a", None), ("b", Some(1.0))])).unwrap(),
            Some(11.0)
        );
        assert_eq!(
            f.eval(&vars(&[("a", Some(2.0)), ("b", Some(1.0))]))
                .unwrap(),
            Some(3.0)
        );
        let g = Formula::compile("a ?? nil", &["a"]).unwrap();
        assert_eq!(g.eval(&vars(&[("a", None)])).unwrap(), None);
        // arithmetic on a failed trigger without ?? is an error, not a silent 0
        assert!(f.eval(&vars(&[("a", Some(1.0)), ("b", None)])).is_err());
    }

    #[test]
    fn compile_errors_name_the_problem() {
        let e = Formula::compile("a + c", &["a", "b"]).unwrap_err().0;
        assert!(e.contains("unknown name c"), "{e}");
        assert!(Formula::compile("a +", &["a"]).is_err());
        assert!(Formula::compile("(a", &["a"]).is_err());
        assert!(Formula::compile("a ? 1", &["a"]).is_err());
        assert!(Formula::compile("a $ 1", &["a"]).is_err());
        assert!(
            Formula::compile("sqrt(a)", &["a"])
                .unwrap_err()
                .0
                .contains("unknown function")
        );
        assert!(Formula::compile("a b", &["a", "b"]).is_err());
        assert_eq!(
            Formula::compile("b + a * b", &["a", "b"])
                .unwrap()
                .variables(),
            vec!["a", "b"]
        );
        let bool_result = Formula::compile("a > 1", &["a"]).unwrap();
        assert!(bool_result.eval(&vars(&[("a", Some(2.0))])).is_err());
    }
}
