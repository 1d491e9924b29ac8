"""Shared helpers for the cxr-lungs and cxr-pneumonia 2.x recipes.

Everything here that touches pixels follows what Radiolens' TypeScript side does, so the
exported models see in production what they saw in training:

* grey values are display values in [0, 1] (imaging/types.ts GreyImage), 8-bit files / 255;
* resampling is imaging/resize.ts resizeArea: per axis an exact box filter when shrinking,
  bilinear with half-pixel centres (edges held) when enlarging, separable (x then y);
* the lung-field procedure is specified in training/LUNG_FIELD.md; `lung_field` below is its
  reference implementation.

Debian PyTorch + numpy + PIL only (no scipy).
"""
import hashlib
import hmac
import math
import os

import numpy as np
from PIL import Image

LUNG_SIZE = 256            # lung model input: the whole image stretched to 256 x 256
LUNG_MEAN, LUNG_STD = 0.5, 0.25
CLS_SIZE = 224             # classifier input: the lung field stretched to 224 x 224
CLS_MEAN, CLS_STD = 0.5, 0.25

# Lung-field rule constants (LUNG_FIELD.md).
LF_THRESHOLD = 0.5         # probability >= 0.5 is lung
LF_MARGIN = 0.05           # margin added on each side, as a fraction of the box's width/height
LF_MIN_AREA = 0.04         # a lung's kept component must cover >= 4% of the 256 x 256 grid
LF_MAX_AREA = 0.40         # ... and <= 40% of it
LF_MIN_CONFIDENCE = 0.85   # mean probability inside each kept component
LF_MIN_FILL, LF_MAX_FILL = 0.35, 0.90  # component area / its own bounding-box area
LF_MIN_SEPARATION = 0.20   # left-lung centroid x minus right-lung centroid x (fraction of width)


# --------------------------------------------------------------------------- files, hashes

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def dataset_version(data_dir, rows, columns=('image',)):
    """Content hash of labels.csv and every file of the rows used (sorted by image name)."""
    h = hashlib.sha256()
    h.update(open(os.path.join(data_dir, 'labels.csv'), 'rb').read())
    for row in sorted(rows, key=lambda r: r['image']):
        for column in columns:
            h.update(row[column].encode())
            h.update(sha256_file(os.path.join(data_dir, row[column])).encode())
    return 'sha256:' + h.hexdigest()


def load_grey(path):
    """8-bit grey file -> float32 display values in [0, 1] (TypeScript: value / 255)."""
    return np.asarray(Image.open(path).convert('L'), dtype=np.float32) / np.float32(255)


# --------------------------------------------------------------------------- splits

def patient_key(patient_id, seed):
    """src/finetune/patientSplit.ts patientKey: HMAC-SHA256(key 'radiolens-split:<seed>', id)."""
    return hmac.new(f'radiolens-split:{seed}'.encode(), patient_id.encode('utf-8'),
                    hashlib.sha256).hexdigest()


def split_by_patient(patients_truth, seed, fractions=(0.6, 0.2, 0.2)):
    """src/finetune/patientSplit.ts splitByPatient. patients_truth: list of (patient_id, 0|1)
    per case. Returns {patient_id: 'train'|'tuning'|'test'}. Rounding is JavaScript's
    Math.round (half up), not Python's banker's rounding."""
    positive = {}
    for pid, truth in patients_truth:
        positive[pid] = positive.get(pid, False) or truth == 1
    split = {}
    for stratum_positive in (True, False):
        stratum = sorted((patient_key(pid, seed), pid) for pid, p in positive.items()
                         if p == stratum_positive)
        n_train = math.floor(fractions[0] * len(stratum) + 0.5)
        n_tuning = math.floor(fractions[1] * len(stratum) + 0.5)
        for rank, (_, pid) in enumerate(stratum):
            split[pid] = 'train' if rank < n_train else ('tuning' if rank < n_train + n_tuning else 'test')
    return split


# --------------------------------------------------------------------------- resampling

_KERNELS = {}


def axis_matrix(source, target):
    """resize.ts axisKernel as a dense (target x source) float64 matrix."""
    key = (source, target)
    if key in _KERNELS:
        return _KERNELS[key]
    if target < source:
        # output i covers source [i*s/t, (i+1)*s/t); weight = overlap with pixel j / (s/t)
        scale = source / target
        i = np.arange(target, dtype=np.float64)[:, None]
        j = np.arange(source, dtype=np.float64)[None, :]
        lo = (i * source) / target
        hi = ((i + 1) * source) / target
        overlap = np.minimum(hi, j + 1) - np.maximum(lo, j)
        m = np.where(overlap > 0, overlap / scale, 0.0)
    else:
        m = np.zeros((target, source), dtype=np.float64)
        scale = source / target
        pos = np.minimum(np.maximum((np.arange(target) + 0.5) * scale - 0.5, 0), source - 1)
        left = np.floor(pos).astype(int)
        right = np.minimum(left + 1, source - 1)
        frac = pos - left
        rows = np.arange(target)
        np.add.at(m, (rows, left), 1 - frac)
        np.add.at(m, (rows, right), frac)
    if len(_KERNELS) < 4096:
        _KERNELS[key] = m
    return m


_TAPS = {}


def axis_taps(source, target):
    """The same kernel as (index, weight) arrays [target, taps], zero-padded: at most a few
    source pixels feed each output pixel, so this is much cheaper than the dense matrix."""
    key = (source, target)
    if key in _TAPS:
        return _TAPS[key]
    m = axis_matrix(source, target)
    nz = m != 0
    taps = max(1, int(nz.sum(axis=1).max()))
    index = np.zeros((target, taps), dtype=np.int64)
    weight = np.zeros((target, taps), dtype=np.float64)
    for i in range(target):
        j = np.flatnonzero(nz[i])
        index[i, :len(j)] = j
        weight[i, :len(j)] = m[i, j]
    if len(_TAPS) < 4096:
        _TAPS[key] = (index, weight)
    return index, weight


def resize_area(image, width, height):
    """imaging/resize.ts resizeArea (x pass, then y pass), float64 arithmetic, float32 result.
    Equal to the TypeScript result up to the order of the float additions (~1e-7)."""
    h, w = image.shape
    if w == width and h == height:
        return image.astype(np.float32, copy=True)
    xi, xw = axis_taps(w, width)
    yi, yw = axis_taps(h, height)
    img = image.astype(np.float64)
    horizontal = (img[:, xi] * xw[None]).sum(axis=2)          # [h, width]
    out = (horizontal[yi] * yw[:, :, None]).sum(axis=1)       # [height, width]
    return out.astype(np.float32)


# --------------------------------------------------------------------------- lung field

def lung_input(image):
    """Whole image -> lung model input plane [256, 256], normalised."""
    x = resize_area(image, LUNG_SIZE, LUNG_SIZE)
    return ((x - np.float32(LUNG_MEAN)) / np.float32(LUNG_STD)).astype(np.float32)


def edge_guard_box(width, height, inset):
    """LUNG_FIELD.md step 2b: the inset view [left, top, right, bottom): floor(inset * W)
    columns and floor(inset * H) rows off each side."""
    dx, dy = math.floor(inset * width), math.floor(inset * height)
    return [dx, dy, width - dx, height - dy]


def guard_edges(whole, inset_probs, width, height, box):
    """LUNG_FIELD.md step 2b: each whole-grid value lowered to the inset view's value under
    its cell centre (nearest cell; 0 outside the inset view). whole, inset_probs: float32
    [2, 256, 256]. TypeScript: src/inference/lungField/edgeGuard.ts."""
    n = LUNG_SIZE

    def cells(size, start, end):
        out = np.full(n, -1, dtype=np.int64)
        for g in range(n):
            s = math.floor((((g + 0.5) * size) / n - start) / (end - start) * n)
            if 0 <= s < n:
                out[g] = s
        return out

    cx, cy = cells(width, box[0], box[2]), cells(height, box[1], box[3])
    mapped = inset_probs[:, np.clip(cy, 0, n - 1)][:, :, np.clip(cx, 0, n - 1)]
    out = np.minimum(whole, mapped).astype(np.float32)
    out[:, cy < 0, :] = 0
    out[:, :, cx < 0] = 0
    return out


def label_components(mask):
    """4-connected components of a boolean 2-D mask by row runs + union-find.
    Returns (labels int32 array, 0 = background, 1.. in raster order of first pixel; sizes)."""
    h, w = mask.shape
    parent = []
    runs = []  # (row, start, end_exclusive, run_id)

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    previous = []
    for y in range(h):
        row = mask[y]
        if not row.any():
            previous = []
            continue
        padded = np.concatenate(([False], row, [False]))
        edges = np.flatnonzero(padded[1:] != padded[:-1])
        current = []
        k = 0
        for s, e in zip(edges[0::2], edges[1::2]):
            rid = len(parent)
            parent.append(rid)
            # overlap with runs of the previous row (4-connectivity: shared columns)
            while k < len(previous) and previous[k][1] <= s:
                k += 1
            j = k
            while j < len(previous) and previous[j][0] < e:
                ra, rb = find(rid), find(previous[j][2])
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
                j += 1
            current.append((s, e, rid))
            runs.append((y, s, e, rid))
        previous = current
    labels = np.zeros((h, w), dtype=np.int32)
    remap = {}
    sizes = []
    for y, s, e, rid in runs:
        root = find(rid)
        if root not in remap:
            remap[root] = len(remap) + 1
            sizes.append(0)
        lab = remap[root]
        labels[y, s:e] = lab
        sizes[lab - 1] += int(e - s)
    return labels, sizes


def keep_largest(mask):
    """Largest 4-connected component (ties: the one whose first pixel comes first in raster
    order). Returns a boolean mask (all False if the mask is empty)."""
    labels, sizes = label_components(mask)
    if not sizes:
        return np.zeros_like(mask, dtype=bool)
    best = int(np.argmax(sizes)) + 1  # argmax returns the first maximum
    return labels == best


def lung_field(probs, width, height):
    """LUNG_FIELD.md steps 3-6. probs: float32 [2, 256, 256] (channel 0 = patient's right
    lung = image left, channel 1 = patient's left lung). width, height: the source image.
    Returns a dict with the kept masks, per-lung statistics, the plausibility verdict and the
    crop box [left, top, right, bottom) in integer source pixels."""
    n = LUNG_SIZE
    kept, lungs = [], []
    for c in range(2):
        comp = keep_largest(probs[c] >= np.float32(LF_THRESHOLD))
        kept.append(comp)
        area = int(comp.sum())
        if area:
            ys, xs = np.nonzero(comp)
            stats = {'area_fraction': area / (n * n),
                     'confidence': float(probs[c][comp].astype(np.float64).mean()),
                     'centroid_x': float((xs.astype(np.float64) + 0.5).mean() / n),
                     'centroid_y': float((ys.astype(np.float64) + 0.5).mean() / n),
                     'bbox256': [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]}
            stats['fill'] = area / ((stats['bbox256'][2] - stats['bbox256'][0] + 1) * (stats['bbox256'][3] - stats['bbox256'][1] + 1))
        else:
            stats = {'area_fraction': 0.0, 'confidence': 0.0, 'centroid_x': None,
                     'centroid_y': None, 'bbox256': None, 'fill': 0.0}
        lungs.append(stats)
    reasons = []
    for name, s in zip(('right', 'left'), lungs):
        if not (LF_MIN_AREA <= s['area_fraction'] <= LF_MAX_AREA):
            reasons.append(f'{name} lung area {s["area_fraction"]:.3f} outside [{LF_MIN_AREA}, {LF_MAX_AREA}]')
        elif s['confidence'] < LF_MIN_CONFIDENCE:
            reasons.append(f'{name} lung confidence {s["confidence"]:.3f} < {LF_MIN_CONFIDENCE}')
        elif not (LF_MIN_FILL <= s['fill'] <= LF_MAX_FILL):
            reasons.append(f'{name} lung fill {s["fill"]:.3f} outside [{LF_MIN_FILL}, {LF_MAX_FILL}]')
    if not reasons and not (lungs[0]['centroid_x'] < 0.5 < lungs[1]['centroid_x']):
        reasons.append('lungs not on their sides (right lung centroid must be left of the image centre, left lung right of it)')
    elif not reasons and lungs[1]['centroid_x'] - lungs[0]['centroid_x'] < LF_MIN_SEPARATION:
        reasons.append(f'lung centroids {lungs[1]["centroid_x"] - lungs[0]["centroid_x"]:.3f} apart < {LF_MIN_SEPARATION}')
    result = {'lungs': {'right': lungs[0], 'left': lungs[1]}, 'plausible': not reasons,
              'reasons': reasons, 'box': None}
    union = kept[0] | kept[1]
    if union.any():
        ys, xs = np.nonzero(union)
        x0, x1, y0, y1 = int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())
        result['box256'] = [x0, y0, x1, y1]
        result['box'] = box_to_source(x0, y0, x1, y1, width, height)
    return result


def box_to_source(x0, y0, x1, y1, width, height):
    """LUNG_FIELD.md step 6, IEEE-754 double arithmetic in exactly this order."""
    left = x0 * width / LUNG_SIZE
    right = (x1 + 1) * width / LUNG_SIZE
    top = y0 * height / LUNG_SIZE
    bottom = (y1 + 1) * height / LUNG_SIZE
    mx = (right - left) * LF_MARGIN
    my = (bottom - top) * LF_MARGIN
    l = max(0, math.floor(left - mx))
    r = min(width, math.ceil(right + mx))
    t = max(0, math.floor(top - my))
    b = min(height, math.ceil(bottom + my))
    return [int(l), int(t), int(r), int(b)]


def classifier_plane(image, box):
    """LUNG_FIELD.md step 7: crop [left, top, right, bottom) and stretch it to 224 x 224 with
    the area resize; unnormalised display values in [0, 1]."""
    l, t, r, b = box
    return resize_area(image[t:b, l:r], CLS_SIZE, CLS_SIZE)


def normalise_cls(plane):
    return ((plane - np.float32(CLS_MEAN)) / np.float32(CLS_STD)).astype(np.float32)


def lung_mask_source(probs, width, height, channel=None):
    """The lung mask at source resolution (LUNG_FIELD.md step 8): the probability map
    resampled with resize_area (bilinear when enlarging), then >= 0.5. channel None: the union
    of both lungs (max of the two resampled maps)."""
    if channel is None:
        a = resize_area(probs[0], width, height)
        b = resize_area(probs[1], width, height)
        return np.maximum(a, b) >= np.float32(LF_THRESHOLD)
    return resize_area(probs[channel], width, height) >= np.float32(LF_THRESHOLD)


# --------------------------------------------------------------------------- metrics

def auc(labels, scores):
    """Empirical AUC (Mann-Whitney, ties count half)."""
    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype=np.float64)
    pos, neg = scores[labels == 1], scores[labels == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float('nan')
    allv = np.concatenate([pos, neg])
    order = np.argsort(allv, kind='mergesort')
    ranks = np.empty(len(allv))
    values = allv[order]
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def delong_ci(labels, scores, level=0.95):
    """AUC with DeLong's variance and a normal-approximation CI."""
    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype=np.float64)
    pos, neg = scores[labels == 1], scores[labels == 0]
    m, n = len(pos), len(neg)
    psi = (pos[:, None] > neg[None, :]).astype(float) + 0.5 * (pos[:, None] == neg[None, :])
    a = psi.mean()
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    var = v10.var(ddof=1) / m + v01.var(ddof=1) / n
    z = 1.959963984540054 if level == 0.95 else None
    se = math.sqrt(var)
    return {'auc': float(a), 'lower': float(max(0, a - z * se)), 'upper': float(min(1, a + z * se)),
            'variance': float(var), 'n_pos': int(m), 'n_neg': int(n)}


def wilson(k, n, z=1.959963984540054):
    if n == 0:
        return [float('nan'), float('nan')]
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return [c - h, c + h]


def ece(labels, probs, bins=10):
    """Expected calibration error with `bins` equal-width bins on [0, 1] (a probability of
    exactly 1 falls in the last bin), weighted by the share of cases in each bin; also returns
    the reliability data per bin."""
    labels = np.asarray(labels, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    index = np.minimum((probs * bins).astype(int), bins - 1)
    total, table = 0.0, []
    for b in range(bins):
        sel = index == b
        k = int(sel.sum())
        if k:
            mp, fr = float(probs[sel].mean()), float(labels[sel].mean())
            total += k / len(probs) * abs(mp - fr)
            table.append({'bin': [b / bins, (b + 1) / bins], 'n': k, 'mean_predicted': mp,
                          'observed_rate': fr})
        else:
            table.append({'bin': [b / bins, (b + 1) / bins], 'n': 0})
    return float(total), table


def sens_spec(labels, probs, threshold):
    labels = np.asarray(labels)
    pred = np.asarray(probs) >= threshold
    tp = int((pred & (labels == 1)).sum())
    tn = int((~pred & (labels == 0)).sum())
    p, n = int((labels == 1).sum()), int((labels == 0).sum())
    return {'sensitivity': tp / p if p else float('nan'), 'specificity': tn / n if n else float('nan'),
            'tp': tp, 'positives': p, 'tn': tn, 'negatives': n,
            'sensitivity_ci': wilson(tp, p), 'specificity_ci': wilson(tn, n)}
