//! Conversions between Python objects and the engine's values: bytes-like
//! arguments, User Properties, QoS and reason codes, and JSON values (the
//! `json.loads` form) both ways.

use crate::errors;
use bytes::Bytes;
use mqtt_engine::codec::{ByteStr, QoS, ReasonCode};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple,
};
use serde_json::{Map, Number, Value};

/// Runs `f` on the bytes of a bytes-like object (`bytes`, `bytearray`,
/// `memoryview` or anything else `bytes()` accepts), or of a `str` as UTF-8
/// when `allow_str`.
pub(crate) fn with_bytes<R>(
    obj: &Bound<'_, PyAny>,
    allow_str: bool,
    f: impl FnOnce(&[u8]) -> R,
) -> PyResult<R> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(f(b.as_bytes()));
    }
    if allow_str {
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(f(s.to_cow()?.as_bytes()));
        }
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(f(&b.to_vec()));
    }
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(if allow_str {
            "expected bytes or str"
        } else {
            "expected a bytes-like object"
        }));
    }
    // memoryview and other buffer objects: let Python copy them.
    let builtins = obj.py().import("builtins")?;
    let copied = builtins.getattr("bytes")?.call1((obj,)).map_err(|_| {
        PyTypeError::new_err(if allow_str {
            "expected bytes or str"
        } else {
            "expected a bytes-like object"
        })
    })?;
    let b = copied.cast::<PyBytes>()?;
    Ok(f(b.as_bytes()))
}

/// The bytes of a bytes-like object (or `str`, when `allow_str`) as [`Bytes`].
///
/// A `bytes` object is not copied: the [`Bytes`] keeps a reference to it
/// (it is immutable), so decoding it hands out slices of the caller's
/// object and a payload given to `publish` is sent from it.
pub(crate) fn to_bytes(obj: &Bound<'_, PyAny>, allow_str: bool) -> PyResult<Bytes> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Bytes::from_owner(PyBackedBytes::from(b.clone())));
    }
    with_bytes(obj, allow_str, Bytes::copy_from_slice)
}

/// An optional bytes-like argument.
pub(crate) fn opt_bytes(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Bytes>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => to_bytes(o, false).map(Some),
    }
}

/// `bytes` from a byte slice.
pub(crate) fn py_bytes<'py>(py: Python<'py>, b: &[u8]) -> Bound<'py, PyAny> {
    PyBytes::new(py, b).into_any()
}

/// `str` from a [`ByteStr`].
pub(crate) fn py_str<'py>(py: Python<'py>, s: &ByteStr) -> Bound<'py, PyAny> {
    PyString::new(py, s.as_str()).into_any()
}

/// An optional [`ByteStr`] as `str | None`.
pub(crate) fn py_opt_str<'py>(py: Python<'py>, s: &Option<ByteStr>) -> Bound<'py, PyAny> {
    match s {
        Some(s) => py_str(py, s),
        None => py.None().into_bound(py),
    }
}

/// An optional [`Bytes`] as `bytes | None`.
pub(crate) fn py_opt_bytes<'py>(py: Python<'py>, b: &Option<Bytes>) -> Bound<'py, PyAny> {
    match b {
        Some(b) => py_bytes(py, b),
        None => py.None().into_bound(py),
    }
}

/// User Properties as a list of `(name, value)` tuples, in order.
pub(crate) fn py_user_properties<'py>(
    py: Python<'py>,
    props: &[(ByteStr, ByteStr)],
) -> PyResult<Bound<'py, PyList>> {
    let items = props.iter().map(|(k, v)| PyTuple::new(py, [k.as_str(), v.as_str()]));
    let list = PyList::empty(py);
    for t in items {
        list.append(t?)?;
    }
    Ok(list)
}

/// User Properties from an iterable of `(name, value)` pairs of `str`.
pub(crate) fn user_properties(obj: &Bound<'_, PyAny>) -> PyResult<Vec<(ByteStr, ByteStr)>> {
    let mut out = Vec::new();
    if obj.is_none() {
        return Ok(out);
    }
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyDict>() {
        return Err(PyTypeError::new_err(
            "user_properties is a list of (name, value) pairs of str (duplicates and order kept)",
        ));
    }
    for item in obj.try_iter()? {
        let item = item?;
        let pair: (String, String) = item.extract().map_err(|_| {
            PyTypeError::new_err("each User Property is a (name, value) pair of str")
        })?;
        out.push((pair.0.into(), pair.1.into()));
    }
    Ok(out)
}

/// A QoS from an int.
pub(crate) fn qos(v: i64) -> PyResult<QoS> {
    u8::try_from(v)
        .ok()
        .and_then(QoS::from_u8)
        .ok_or_else(|| errors::invalid(ReasonCode::QOS_NOT_SUPPORTED, "QoS must be 0, 1 or 2"))
}

/// A reason code from an int.
pub(crate) fn reason_code(v: i64) -> PyResult<ReasonCode> {
    u8::try_from(v)
        .map(ReasonCode)
        .map_err(|_| PyValueError::new_err("a reason code is an int from 0 to 255"))
}

/// A list of reason codes as ints.
pub(crate) fn py_codes<'py>(py: Python<'py>, codes: &[ReasonCode]) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, codes.iter().map(|c| c.0))
}

/// A Python object of the `json.loads` form as a JSON value.
pub(crate) fn to_json(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    to_json_depth(obj, 0)
}

const MAX_DEPTH: usize = 256;

fn to_json_depth(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err("JSON value nested too deeply"));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(PyValueError::new_err("int too large for JSON (beyond 64 bits)"));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| PyValueError::new_err("NaN and infinities are not JSON"));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.to_string()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut m = Map::new();
        for (k, v) in d.iter() {
            let k = k
                .cast::<PyString>()
                .map_err(|_| PyTypeError::new_err("JSON object keys must be str"))?
                .to_cow()?
                .to_string();
            m.insert(k, to_json_depth(&v, depth + 1)?);
        }
        return Ok(Value::Object(m));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut a = Vec::new();
        for v in obj.try_iter()? {
            a.push(to_json_depth(&v?, depth + 1)?);
        }
        return Ok(Value::Array(a));
    }
    let name = obj.get_type().name().map(|n| n.to_string()).unwrap_or_default();
    Err(PyTypeError::new_err(format!(
        "a {name} is not a JSON value (None, bool, int, float, str, list, tuple or dict with str keys)"
    )))
}

/// A JSON value in the `json.loads` form.
pub(crate) fn from_json<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let list = PyList::empty(py);
            for x in a {
                list.append(from_json(py, x)?)?;
            }
            list.into_any()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, from_json(py, x)?)?;
            }
            d.into_any()
        }
    })
}
