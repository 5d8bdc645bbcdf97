//! Exact k-nearest neighbours by cosine similarity, in blocks.
//!
//! Each block of rows is multiplied against all vectors with libtorch's matrix product (the
//! same BLAS the embedder uses) and only its top `k` survive, so memory is one block × n,
//! never n × n. For the sample sizes discovery uses (≤ 20,000) this takes seconds.
//!
//! [`nearest_centroids`] is the same product against a few hundred centroids instead of
//! the sample: the one pass of discovery that reads every item (a million in about a second
//! where a loop of dot products took nine).

use tch::{Kind, Tensor};

use crate::embed::vectors::{Rows, Vectors};

/// Rows per block: 1,024 × 20,000 floats is 80 MB.
const BLOCK: usize = 1024;

/// For every vector, its `k` nearest other vectors and their similarities, best first.
pub fn knn(v: &Vectors, k: usize) -> Vec<Vec<(usize, f32)>> {
    let n = v.len();
    let k = k.min(n.saturating_sub(1));
    if k == 0 {
        return vec![Vec::new(); n];
    }
    let all = Tensor::from_slice(&v.data).view([n as i64, v.dims as i64]);
    let all_t = all.transpose(0, 1);
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(BLOCK) {
        let len = BLOCK.min(n - start);
        let block = all.narrow(0, start as i64, len as i64);
        let mut sims = block.matmul(&all_t);
        // Exclude each row itself.
        let rows = Tensor::arange(len as i64, (Kind::Int64, tch::Device::Cpu));
        let cols = &rows + start as i64;
        let _ = sims.index_put_(&[Some(rows), Some(cols)], &Tensor::from(-2.0f32), false);
        let (values, indices) = sims.topk(k as i64, 1, true, true);
        let values: Vec<f32> = Vec::try_from(values.flatten(0, 1)).unwrap_or_default();
        let indices: Vec<i64> = Vec::try_from(indices.flatten(0, 1)).unwrap_or_default();
        for r in 0..len {
            out.push(
                (0..k)
                    .map(|j| (indices[r * k + j] as usize, values[r * k + j]))
                    .collect(),
            );
        }
    }
    out
}

/// For every row, the most similar of `centroids` and that similarity (`(0, f32::MIN)`
/// when there are no centroids). Rows are read a block at a time, in full precision.
pub fn nearest_centroids<R: Rows + ?Sized>(v: &R, centroids: &Vectors) -> Vec<(usize, f32)> {
    let n = v.len();
    if centroids.is_empty() {
        return vec![(0, f32::MIN); n];
    }
    let dims = centroids.dims as i64;
    let c_t = Tensor::from_slice(&centroids.data)
        .view([centroids.len() as i64, dims])
        .transpose(0, 1);
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(BLOCK * 4) {
        let rows: Vec<usize> = (start..(start + BLOCK * 4).min(n)).collect();
        let block = v.select_rows(&rows);
        let sims = Tensor::from_slice(&block.data)
            .view([rows.len() as i64, dims])
            .matmul(&c_t);
        let (values, indices) = sims.max_dim(1, false);
        let values: Vec<f32> = Vec::try_from(values).unwrap_or_default();
        let indices: Vec<i64> = Vec::try_from(indices).unwrap_or_default();
        out.extend(
            indices
                .into_iter()
                .zip(values)
                .map(|(c, sim)| (c as usize, sim)),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_centroid_of_every_row() {
        let v = Vectors::from_rows(&[vec![1.0, 0.0], vec![0.6, 0.8], vec![0.0, -1.0]]);
        let c = Vectors::from_rows(&[vec![0.0, 1.0], vec![1.0, 0.0]]);
        let got = nearest_centroids(&v, &c);
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), [1, 0, 1]);
        assert!((got[1].1 - 0.8).abs() < 1e-6 && got[2].1.abs() < 1e-6);
        let none = Vectors {
            dims: 2,
            data: vec![],
        };
        assert_eq!(nearest_centroids(&v, &none)[0], (0, f32::MIN));
    }

    #[test]
    fn finds_the_nearest_other_vectors() {
        let rows = vec![
            vec![1.0, 0.0],
            vec![0.9, 0.1],
            vec![0.0, 1.0],
            vec![0.1, 0.9],
        ];
        let mut v = Vectors::from_rows(&rows);
        for i in 0..v.len() {
            let d = v.dims;
            crate::embed::vectors::normalize(&mut v.data[i * d..(i + 1) * d]);
        }
        let nn = knn(&v, 1);
        let firsts: Vec<usize> = nn.iter().map(|r| r[0].0).collect();
        assert_eq!(firsts, vec![1, 0, 3, 2]);
    }
}
