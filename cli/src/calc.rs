//! The arithmetic of `mqtt-engine serve --calculator`.
//!
//! [`evaluate`] takes an expression such as `1+2*3` or `-(0.5 + 2) / 4`:
//! decimal numbers (`7`, `2.5`, `.5`), the operators `+ - * /` with the usual
//! precedence (`*` and `/` before `+` and `-`, left to right), unary `+` and
//! `-`, parentheses, and spaces anywhere between. Arithmetic is on `f64`.
//! [`format`] prints a result without float noise (`0.1+0.2` is `0.3`).
//!
//! Every failure is an [`Error`] with a readable message, answered by the
//! server with status 400: a character that does not belong, a missing
//! operand or parenthesis, division by zero, a result out of range, or an
//! expression nested deeper than [`MAX_DEPTH`].

use std::fmt;

/// The deepest nesting of parentheses and unary signs accepted, so that a
/// hostile expression cannot exhaust the stack.
pub const MAX_DEPTH: usize = 64;

/// The longest expression accepted, in bytes.
pub const MAX_LEN: usize = 4096;

/// Why an expression has no value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Evaluates an arithmetic expression.
pub fn evaluate(text: &str) -> Result<f64, Error> {
    if text.len() > MAX_LEN {
        return Err(Error(format!("expression longer than {MAX_LEN} bytes")));
    }
    let mut p = Parser { text: text.as_bytes(), at: 0, depth: 0 };
    p.skip_spaces();
    if p.at == p.text.len() {
        return Err(Error("empty expression".to_string()));
    }
    let value = p.sum()?;
    p.skip_spaces();
    if let Some(&c) = p.text.get(p.at) {
        return Err(p.unexpected(c));
    }
    if !value.is_finite() {
        return Err(Error("result out of range".to_string()));
    }
    Ok(value)
}

/// A result as text: an integer without a decimal point, anything else
/// rounded to 12 decimal places with trailing zeros removed; very large or
/// very small magnitudes in exponent notation.
pub fn format(value: f64) -> String {
    let value = if value == 0.0 { 0.0 } else { value }; // no "-0"
    let magnitude = value.abs();
    if magnitude >= 1e15 || (magnitude != 0.0 && magnitude < 1e-9) {
        return format!("{value:e}");
    }
    if value.fract() == 0.0 {
        return format!("{value:.0}");
    }
    let text = format!("{value:.12}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// Recursive descent: sum := product (('+' | '-') product)*,
/// product := unary (('*' | '/') unary)*, unary := ('+' | '-') unary | atom,
/// atom := number | '(' sum ')'.
struct Parser<'a> {
    text: &'a [u8],
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn skip_spaces(&mut self) {
        while self.text.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    /// The next character that is not a space, without taking it.
    fn peek(&mut self) -> Option<u8> {
        self.skip_spaces();
        self.text.get(self.at).copied()
    }

    fn unexpected(&self, c: u8) -> Error {
        // The text is UTF-8: name the whole character, not its first byte.
        let rest = String::from_utf8_lossy(&self.text[self.at..]);
        let shown = rest.chars().next().unwrap_or_else(|| char::from(c));
        Error(format!("unexpected {shown:?} at position {}", self.at + 1))
    }

    fn end_or(&self, what: &str) -> Error {
        Error(format!("expected {what} at position {}, found the end", self.at + 1))
    }

    fn deeper(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error(format!("expression nested deeper than {MAX_DEPTH}")));
        }
        Ok(())
    }

    fn sum(&mut self) -> Result<f64, Error> {
        let mut value = self.product()?;
        while let Some(op @ (b'+' | b'-')) = self.peek() {
            self.at += 1;
            let rhs = self.product()?;
            value = if op == b'+' { value + rhs } else { value - rhs };
        }
        Ok(value)
    }

    fn product(&mut self) -> Result<f64, Error> {
        let mut value = self.unary()?;
        while let Some(op @ (b'*' | b'/')) = self.peek() {
            let op_at = self.at;
            self.at += 1;
            let rhs = self.unary()?;
            if op == b'*' {
                value *= rhs;
            } else if rhs == 0.0 {
                return Err(Error(format!("division by zero at position {}", op_at + 1)));
            } else {
                value /= rhs;
            }
        }
        Ok(value)
    }

    fn unary(&mut self) -> Result<f64, Error> {
        match self.peek() {
            Some(sign @ (b'+' | b'-')) => {
                self.at += 1;
                self.deeper()?;
                let v = self.unary()?;
                self.depth -= 1;
                Ok(if sign == b'-' { -v } else { v })
            }
            _ => self.atom(),
        }
    }

    fn atom(&mut self) -> Result<f64, Error> {
        match self.peek() {
            None => Err(self.end_or("a number or '('")),
            Some(b'(') => {
                self.at += 1;
                self.deeper()?;
                let v = self.sum()?;
                self.depth -= 1;
                match self.peek() {
                    Some(b')') => {
                        self.at += 1;
                        Ok(v)
                    }
                    Some(c) => Err(self.unexpected(c)),
                    None => Err(self.end_or("')'")),
                }
            }
            Some(c) if c.is_ascii_digit() || c == b'.' => self.number(),
            Some(c) => Err(self.unexpected(c)),
        }
    }

    fn number(&mut self) -> Result<f64, Error> {
        let start = self.at;
        let mut dots = 0;
        while let Some(&c) = self.text.get(self.at) {
            if c == b'.' {
                dots += 1;
            } else if !c.is_ascii_digit() {
                break;
            }
            self.at += 1;
        }
        let digits = &self.text[start..self.at];
        let text = std::str::from_utf8(digits).unwrap_or_default();
        if dots > 1 || text == "." {
            return Err(Error(format!("{text:?} at position {} is not a number", start + 1)));
        }
        text.parse::<f64>()
            .map_err(|_| Error(format!("{text:?} at position {} is not a number", start + 1)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly by design

    use super::*;

    fn calc(s: &str) -> String {
        format(evaluate(s).unwrap())
    }

    fn err(s: &str) -> String {
        evaluate(s).unwrap_err().0
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(calc("1+2*3"), "7");
        assert_eq!(calc("(1+2)*3"), "9");
        assert_eq!(calc("10-4-3"), "3");
        assert_eq!(calc("100/10/5"), "2");
        assert_eq!(calc("2*3+4*5"), "26");
        assert_eq!(calc("8/2*4"), "16");
    }

    #[test]
    fn decimals_signs_and_spaces() {
        assert_eq!(calc(" 1.5 * 4 "), "6");
        assert_eq!(calc("0.1+0.2"), "0.3");
        assert_eq!(calc("1/3"), "0.333333333333");
        assert_eq!(calc("-2/8"), "-0.25");
        assert_eq!(calc(".5+.25"), "0.75");
        assert_eq!(calc("-(2+3)*-2"), "10");
        assert_eq!(calc("+-+1"), "-1");
        assert_eq!(calc("\t7\n"), "7");
        assert_eq!(calc("0*-1"), "0");
    }

    #[test]
    fn large_and_small_results() {
        assert_eq!(calc("123456789*1000"), "123456789000");
        assert_eq!(calc("1000000*1000000*1000"), "1e15");
        assert_eq!(calc("1/1000000000000"), "1e-12");
    }

    #[test]
    fn division_by_zero() {
        assert_eq!(err("1/0"), "division by zero at position 2");
        assert_eq!(err("5 / (2-2)"), "division by zero at position 3");
    }

    #[test]
    fn bad_input_says_where() {
        assert_eq!(err(""), "empty expression");
        assert_eq!(err("   "), "empty expression");
        assert_eq!(err("1+"), "expected a number or '(' at position 3, found the end");
        assert_eq!(err("(1+2"), "expected ')' at position 5, found the end");
        assert_eq!(err("1+2)"), "unexpected ')' at position 4");
        assert_eq!(err("2x3"), "unexpected 'x' at position 2");
        assert_eq!(err("1 2"), "unexpected '2' at position 3");
        assert_eq!(err("1..2"), "\"1..2\" at position 1 is not a number");
        assert_eq!(err("."), "\".\" at position 1 is not a number");
        assert_eq!(err("2*é"), "unexpected 'é' at position 3");
        assert_eq!(err("*3"), "unexpected '*' at position 1");
    }

    #[test]
    fn limits() {
        assert_eq!(err(&"9".repeat(400)), "result out of range");
        assert_eq!(err("1e5"), "unexpected 'e' at position 2");
        let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(err(&deep), format!("expression nested deeper than {MAX_DEPTH}"));
        let ok = format!("{}1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(calc(&ok), "1");
        assert_eq!(err(&"-".repeat(1000)), format!("expression nested deeper than {MAX_DEPTH}"));
        assert!(err(&"1+".repeat(3000)).contains("longer than"));
    }
}
