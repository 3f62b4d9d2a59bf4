//! Patch semantics: JSON merge patch (RFC 7386; also used for strategic-merge requests, whose
//! list-merge keys the stand-in does not implement), JSON patch (RFC 6902) and server-side
//! apply as the operator relies on it (create if missing; fields this manager applied before
//! and omits now are removed; maps merge, lists are replaced whole).

use serde_json::{Map, Value};

/// RFC 7386.
pub fn merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            let t = target.as_object_mut().expect("object");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

fn pointer_parts(path: &str) -> Vec<String> {
    path.split('/')
        .skip(1)
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// RFC 6902 (add, remove, replace, test; what kube's finalizer helper sends).
pub fn json_patch(target: &mut Value, ops: &Value) -> Result<(), String> {
    for op in ops.as_array().ok_or("a JSON patch must be an array")? {
        let path = op["path"].as_str().ok_or("patch op without path")?;
        let parts = pointer_parts(path);
        let (last, parents) = parts.split_last().ok_or("empty path")?;
        let parent_path: String = parents
            .iter()
            .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
            .collect();
        match op["op"].as_str() {
            Some("test") => {
                // a missing path tests equal to null, as the API server's JSON patch does
                if target.pointer(path).unwrap_or(&Value::Null) != &op["value"] {
                    return Err(format!("test operation failed at {path}"));
                }
            }
            Some(kind @ ("add" | "replace")) => {
                let parent = target
                    .pointer_mut(&parent_path)
                    .ok_or_else(|| format!("no parent for {path}"))?;
                match parent {
                    Value::Object(m) => {
                        if kind == "replace" && !m.contains_key(last) {
                            return Err(format!("replace of missing {path}"));
                        }
                        m.insert(last.clone(), op["value"].clone());
                    }
                    Value::Array(a) => {
                        if last == "-" {
                            a.push(op["value"].clone());
                        } else {
                            let i: usize =
                                last.parse().map_err(|_| format!("bad index in {path}"))?;
                            if kind == "add" && i <= a.len() {
                                a.insert(i, op["value"].clone());
                            } else if i < a.len() {
                                a[i] = op["value"].clone();
                            } else {
                                return Err(format!("index out of range in {path}"));
                            }
                        }
                    }
                    _ => return Err(format!("parent of {path} is not a container")),
                }
            }
            Some("remove") => {
                let parent = target
                    .pointer_mut(&parent_path)
                    .ok_or_else(|| format!("no parent for {path}"))?;
                match parent {
                    Value::Object(m) => {
                        m.remove(last)
                            .ok_or_else(|| format!("remove of missing {path}"))?;
                    }
                    Value::Array(a) => {
                        let i: usize = last.parse().map_err(|_| format!("bad index in {path}"))?;
                        if i >= a.len() {
                            return Err(format!("index out of range in {path}"));
                        }
                        a.remove(i);
                    }
                    _ => return Err(format!("parent of {path} is not a container")),
                }
            }
            other => return Err(format!("unsupported JSON patch op {other:?}")),
        }
    }
    Ok(())
}

/// Removes from `target` the map keys present in `previous` but absent from `applied`
/// (recursively through maps).
fn prune(target: &mut Value, previous: &Value, applied: &Value) {
    let (Value::Object(t), Value::Object(prev)) = (target, previous) else {
        return;
    };
    for (k, pv) in prev {
        match applied.get(k) {
            None => {
                t.remove(k);
            }
            Some(av) if av.is_object() && pv.is_object() => {
                if let Some(tv) = t.get_mut(k) {
                    prune(tv, pv, av);
                }
            }
            Some(_) => {}
        }
    }
}

/// Server-side apply of `applied` by one manager whose previous apply was `previous`.
pub fn apply(existing: &mut Value, previous: Option<&Value>, applied: &Value) {
    if let Some(prev) = previous {
        prune(existing, prev, applied);
    }
    merge(existing, applied);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_json_patch_and_apply() {
        let mut v = json!({"a": {"b": 1, "c": 2}, "l": [1, 2]});
        merge(&mut v, &json!({"a": {"b": null, "d": 3}, "l": [3]}));
        assert_eq!(v, json!({"a": {"c": 2, "d": 3}, "l": [3]}));
        let mut v = json!({"metadata": {"finalizers": ["x"]}});
        json_patch(&mut v, &json!([{"op": "test", "path": "/metadata/finalizers", "value": ["x"]}, {"op": "remove", "path": "/metadata/finalizers/0"}])).unwrap();
        assert_eq!(v, json!({"metadata": {"finalizers": []}}));
        assert!(
            json_patch(
                &mut v,
                &json!([{"op": "test", "path": "/metadata/finalizers", "value": ["y"]}])
            )
            .is_err()
        );
        json_patch(
            &mut v,
            &json!([{"op": "add", "path": "/metadata/finalizers/-", "value": "z"}]),
        )
        .unwrap();
        assert_eq!(v["metadata"]["finalizers"], json!(["z"]));
        let mut obj =
            json!({"spec": {"min": 1, "max": 5, "behavior": {"up": 1}}, "status": {"x": 1}});
        let prev = json!({"spec": {"min": 1, "max": 5, "behavior": {"up": 1}}});
        apply(
            &mut obj,
            Some(&prev),
            &json!({"spec": {"min": 2, "max": 5}}),
        );
        assert_eq!(
            obj,
            json!({"spec": {"min": 2, "max": 5}, "status": {"x": 1}})
        );
    }
}
