//! A set of unit vectors stored row-major in one buffer, and the `.npy` file format.
//!
//! One flat `Vec<f32>` rather than `Vec<Vec<f32>>`: 100,000 × 384 floats is 150 MB, and
//! contiguous rows keep dot products streaming through the cache. The `.npy` format is
//! NumPy's, so vectors can be shared with other tools (e.g. the BERTopic peer's `--npy`).

use std::io::{Read, Write};
use std::path::Path;

use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct Vectors {
    pub dims: usize,
    pub data: Vec<f32>,
}

impl Vectors {
    pub fn from_rows(rows: &[Vec<f32>]) -> Self {
        let dims = rows.first().map_or(0, Vec::len);
        let mut data = Vec::with_capacity(rows.len() * dims);
        for r in rows {
            data.extend_from_slice(r);
        }
        Self { dims, data }
    }

    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dims).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dims..(i + 1) * self.dims]
    }

    /// The rows at `indices`, as a new set.
    pub fn select(&self, indices: &[usize]) -> Vectors {
        let mut data = Vec::with_capacity(indices.len() * self.dims);
        for &i in indices {
            data.extend_from_slice(self.row(i));
        }
        Vectors {
            dims: self.dims,
            data,
        }
    }

    /// Reads a little-endian float32 2-D `.npy` file.
    pub fn read_npy(path: &Path) -> Result<Vectors> {
        let bad = |what: &str| {
            Error::Config(format!(
                "{}: not a float32 2-D .npy file ({what})",
                path.display()
            ))
        };
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| Error::io(path, e))?;
        if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
            return Err(bad("no magic"));
        }
        let (header_len, start) = match bytes[6] {
            1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
            _ => (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            ),
        };
        let header = std::str::from_utf8(
            bytes
                .get(start..start + header_len)
                .ok_or_else(|| bad("short header"))?,
        )
        .map_err(|_| bad("header"))?;
        if !header.contains("'<f4'") || header.contains("'fortran_order': True") {
            return Err(bad("dtype must be <f4, C order"));
        }
        let shape = header
            .split("'shape': (")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .ok_or_else(|| bad("shape"))?;
        let dims: Vec<usize> = shape
            .split(',')
            .filter_map(|d| d.trim().parse().ok())
            .collect();
        let [rows, cols] = dims[..] else {
            return Err(bad("shape"));
        };
        let body = &bytes[start + header_len..];
        if body.len() != rows * cols * 4 {
            return Err(bad("size"));
        }
        let data = body
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(Vectors { dims: cols, data })
    }

    pub fn write_npy(&self, path: &Path) -> Result<()> {
        let mut header = format!(
            "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}",
            self.len(),
            self.dims
        );
        // Magic (6) + version (2) + length (2) + header + newline, padded to 64 bytes.
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = Vec::with_capacity(10 + header.len() + self.data.len() * 4);
        out.extend_from_slice(b"\x93NUMPY\x01\x00");
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        for v in &self.data {
            out.extend_from_slice(&v.to_le_bytes());
        }
        std::fs::File::create(path)
            .and_then(|mut f| f.write_all(&out))
            .map_err(|e| Error::io(path, e))
    }
}

/// Dot product (cosine similarity for unit vectors).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight independent accumulators let the compiler vectorise without reassociating.
    let mut acc = [0f32; 8];
    let chunks = a.len() / 8 * 8;
    for i in (0..chunks).step_by(8) {
        for k in 0..8 {
            acc[k] += a[i + k] * b[i + k];
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for i in chunks..a.len() {
        sum += a[i] * b[i];
    }
    sum
}

/// Of `rows`, the one closest to `centre` (a theme's representative member).
pub fn closest(v: &Vectors, rows: &[usize], centre: &[f32]) -> Option<usize> {
    rows.iter()
        .copied()
        .max_by(|&a, &b| dot(v.row(a), centre).total_cmp(&dot(v.row(b), centre)))
}

/// Scales `v` to unit length (leaves a zero vector alone).
pub fn normalize(v: &mut [f32]) {
    let norm = dot(v, v).sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trip() {
        let v = Vectors {
            dims: 3,
            data: vec![1.0, 2.0, 3.0, -4.5, 0.25, 6.0],
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.npy");
        v.write_npy(&path).unwrap();
        assert_eq!(Vectors::read_npy(&path).unwrap(), v);
    }

    #[test]
    fn dot_of_unit_vectors_is_cosine() {
        let mut a = vec![3.0; 20];
        normalize(&mut a);
        assert!((dot(&a, &a) - 1.0).abs() < 1e-6);
    }
}
