//! Upstream's `status.compressedNodes`: the nodes as gzip'd JSON in base64.
//! The controller stores them so when they do not fit the object as they
//! are (a 1,000-task fan-out with a fan-in over its results); every reader
//! unpacks them through here, bounded, as the data is not trusted.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use base64::Engine as _;
use serde_json::Value;

use super::status::{NodeStatus, WorkflowStatus};

/// What unpacked nodes may take: far more than any status that fits etcd
/// holds, far less than what would hurt the process reading it.
pub const MAX_UNPACKED_BYTES: u64 = 64 * 1024 * 1024;

/// Moves the nodes into `compressed_nodes`.
pub fn pack(status: &mut WorkflowStatus) -> Result<(), String> {
    let json = serde_json::to_vec(&status.nodes).map_err(|e| e.to_string())?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&json).map_err(|e| e.to_string())?;
    let packed = gz.finish().map_err(|e| e.to_string())?;
    status.compressed_nodes = Some(base64::engine::general_purpose::STANDARD.encode(packed));
    status.nodes.clear();
    Ok(())
}

/// Moves `compressed_nodes` back into the nodes.
pub fn unpack(status: &mut WorkflowStatus) -> Result<(), String> {
    let Some(packed) = status.compressed_nodes.take() else {
        return Ok(());
    };
    let nodes: BTreeMap<String, NodeStatus> =
        serde_json::from_slice(&inflate(&packed)?).map_err(|e| format!("status.compressedNodes: {e}"))?;
    status.nodes.extend(nodes);
    Ok(())
}

/// `unpack` on a status as JSON (for readers with their own types).
pub fn unpack_value(status: &mut Value) -> Result<(), String> {
    let Some(Value::String(packed)) = status.get("compressedNodes").cloned() else {
        return Ok(());
    };
    let nodes: Value =
        serde_json::from_slice(&inflate(&packed)?).map_err(|e| format!("status.compressedNodes: {e}"))?;
    if let Some(obj) = status.as_object_mut() {
        obj.remove("compressedNodes");
        obj.insert("nodes".into(), nodes);
    }
    Ok(())
}

fn inflate(packed: &str) -> Result<Vec<u8>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(packed.trim())
        .map_err(|e| format!("status.compressedNodes is not base64: {e}"))?;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .take(MAX_UNPACKED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("status.compressedNodes is not gzip: {e}"))?;
    if out.len() as u64 > MAX_UNPACKED_BYTES {
        return Err(format!(
            "status.compressedNodes unpacks to more than {}",
            crate::limits::bytes(MAX_UNPACKED_BYTES as usize)
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(n: usize) -> WorkflowStatus {
        let mut s = WorkflowStatus::default();
        for i in 0..n {
            let id = format!("wf-{i}");
            let node: NodeStatus = serde_json::from_value(serde_json::json!({
                "id": id, "name": format!("wf.task-{i}"), "displayName": format!("task-{i}"),
                "type": "Pod", "phase": "Succeeded", "templateName": "echo",
                "outputs": {"result": format!("result {i}"), "exitCode": "0"}}))
            .unwrap();
            s.nodes.insert(id, node);
        }
        s
    }

    #[test]
    fn nodes_round_trip_in_a_fraction_of_the_space() {
        let original = status(2000);
        let mut s = original.clone();
        pack(&mut s).unwrap();
        assert!(s.nodes.is_empty());
        let packed = serde_json::to_vec(&s).unwrap().len();
        let plain = serde_json::to_vec(&original).unwrap().len();
        assert!(packed * 5 < plain, "{packed} vs {plain}");
        let mut v = serde_json::to_value(&s).unwrap();
        unpack(&mut s).unwrap();
        assert_eq!(s, original);
        unpack_value(&mut v).unwrap();
        assert_eq!(v, serde_json::to_value(&original).unwrap());
    }

    #[test]
    fn garbage_and_bombs_are_errors() {
        let mut s = WorkflowStatus {
            compressed_nodes: Some("not base64!".into()),
            ..Default::default()
        };
        assert!(unpack(&mut s).unwrap_err().contains("not base64"));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![b' '; 1024 * 1024];
        for _ in 0..65 {
            gz.write_all(&zeros).unwrap();
        }
        let bomb = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
        let mut s = WorkflowStatus {
            compressed_nodes: Some(bomb),
            ..Default::default()
        };
        assert!(unpack(&mut s).unwrap_err().contains("more than 64 MiB"));
    }
}
