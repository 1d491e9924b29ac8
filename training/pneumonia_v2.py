#!/usr/bin/env python3
"""Radiolens cxr-pneumonia 2.x: lung-field classifier recipe (issue #11; 2.0.0, 2.1.0).

1. Lung fields: the cxr-lungs model (training/lungs.py) segments every image; the lung-field
   box (training/LUNG_FIELD.md) is cropped from the full-resolution image and stretched to
   224 x 224 with the area resize. Nothing outside the box is seen by the classifier.
   With --edge-guard INSET (2.1.0: 0.04) the lung maps are edge-guarded (step 2b) before the
   field is found, as the TypeScript pipeline does for a manifest with input.region.edgeGuard,
   so the classifier trains on the crops it will be given (ADR 0165).
2. Pre-training on the paediatric Kermany set (lung-field crops; patient split 80/10/10).
3. Fine-tuning of the WHOLE network on the adult NIH site data, with the site split of
   models/cxr-pneumonia/1.2.0/splits.json (HMAC rule of src/finetune/patientSplit.ts, seed 1),
   epoch chosen on the tuning split; nothing is chosen on the test split.
4. Platt scaling fitted on the tuning split and folded into the linear head; threshold on the
   tuning split for sensitivity >= 0.90 with the best specificity.
5. Evaluation on the site test split: AUC, ECE, reliability, sensitivity/specificity, shortcut
   probes, CAM placement and pointing game, robustness; repeated site splits (seeds 2..6).

Network: four stride-2 stages (224 -> 14) + a dilated conv, GAP, one linear layer, so the CAM
is 14 x 14 and exact. ONNX: input `image` [n,1,224,224] = (grey - 0.5) / 0.25; outputs `scores`
[n,1] (calibrated sigmoid probability) and `features` [n,192,14,14]; head initializers
`net.head.weight` [1,192] (class by channel) and `net.head.bias` [1].

Usage: /usr/bin/python3 training/pneumonia_v2.py --lungs build/lungs/cxr-lungs.pt --out build/pneu
       [--kermany DIR] [--site DIR] [--pretrain-epochs 8] [--epochs 24] [--repeats 5]
       [--pretrained PATH] [--version 2.0.0] [--edge-guard 0.04] [--limit 40 --epochs 1]  (smoke: every stage once on N
       images per set)
"""
import argparse
import csv
import hashlib
import io
import json
import math
import os
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

import cxrlib
from cxrlib import CLS_SIZE, CLS_MEAN, CLS_STD, LUNG_MEAN, LUNG_STD
from lungs import LungUNet

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


# --------------------------------------------------------------------------- network

def cbr(cin, cout, stride=1, dilation=1):
    return [nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class ImageStandardise(nn.Module):
    """Per-image standardisation inside the graph: (x - mean(x)) / (std(x) + 1e-3) over each
    image's pixels. Makes the score invariant to uniform brightness and contrast changes of
    the crop (up to clipping at black/white), whatever the input normalisation constants."""

    def forward(self, x):
        mean = x.mean(dim=(2, 3), keepdim=True)
        centred = x - mean
        std = torch.sqrt((centred * centred).mean(dim=(2, 3), keepdim=True))
        return centred / (std + 1e-3)


class LungFieldNet(nn.Module):
    """Per-image standardisation, then 224 -> 112 -> 56 -> 28 -> 14 (four stride-2 stages),
    a dilated 3x3 conv at 14 x 14 for a wider receptive field, global average pooling,
    dropout, one linear layer."""

    def __init__(self, widths=(24, 48, 96, 192), dropout=0.3):
        super().__init__()
        layers, c = [ImageStandardise()], 1
        for i, w in enumerate(widths):
            layers += cbr(c, w, 2)
            if i > 0:
                layers += cbr(w, w)
            c = w
        layers += cbr(c, c, 1, 2)
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(c, 1)
        self.channels = c

    def forward(self, x):
        a = self.features(x)
        return self.head(self.dropout(a.mean(dim=(2, 3)))).squeeze(1), a


class ExportWrapper(nn.Module):
    """What the ONNX file computes: calibrated probability and the feature map (exact CAM)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, image):
        features = self.net.features(image)
        return torch.sigmoid(self.net.head(features.mean(dim=(2, 3)))), features


# --------------------------------------------------------------------------- lung fields

class LungModel:
    def __init__(self, path):
        self.net = LungUNet()
        self.net.load_state_dict(torch.load(path))
        self.net.eval()

    def probs(self, planes):
        """planes: [n,256,256] unnormalised grey -> [n,2,256,256] probabilities (float32)."""
        out = []
        with torch.no_grad():
            for s in range(0, len(planes), 16):
                x = torch.from_numpy(np.ascontiguousarray(planes[s:s + 16])).unsqueeze(1)
                out.append(torch.sigmoid(self.net((x - LUNG_MEAN) / LUNG_STD)).numpy())
        return np.concatenate(out)


def lung_probs(lung, images, inset):
    """LUNG_FIELD.md steps 1-2b for source images (float32 [H,W] in [0,1]): [n,2,256,256]
    lung probabilities of each whole image, with an edge-guard inset (step 2b) lowered to
    those found with inset*W, inset*H cut off each side (cxrlib.guard_edges)."""
    probs = lung.probs(np.stack([cxrlib.resize_area(im, 256, 256) for im in images]))
    if not inset:
        return probs
    boxes = [cxrlib.edge_guard_box(im.shape[1], im.shape[0], inset) for im in images]
    views = lung.probs(np.stack([cxrlib.resize_area(np.ascontiguousarray(im[b[1]:b[3], b[0]:b[2]]), 256, 256)
                                 for im, b in zip(images, boxes)]))
    return np.stack([cxrlib.guard_edges(p, v, im.shape[1], im.shape[0], b)
                     for p, v, im, b in zip(probs, views, images, boxes)])


def pipeline(lung, image, inset):
    """LUNG_FIELD.md on one image (float32 [H,W] in [0,1]). Returns (field dict, probs,
    classifier plane [224,224] unnormalised, source lung mask)."""
    h, w = image.shape
    probs = lung_probs(lung, [image], inset)[0]
    field = cxrlib.lung_field(probs, w, h)
    box = crop_box(field, w, h)
    return field, probs, cxrlib.classifier_plane(image, box), box


def compute_fields(lung, data_dir, rows, cache_path, inset):
    """For every row: lung probabilities, the lung-field verdict and box, the source-resolution
    lung mask (for augmentation and probes). Cached: the lung model and images are fixed."""
    if os.path.exists(cache_path):
        z = np.load(cache_path, allow_pickle=True)
        if list(z['names']) == [r['image'] for r in rows]:
            return z['images'], z['masks'], json.loads(str(z['fields']))
    images, masks, fields = [], [], []
    batch = []

    def flush():
        for im, p in zip(batch, lung_probs(lung, batch, inset)):
            h, w = im.shape
            f = cxrlib.lung_field(p, w, h)
            fields.append({k: f[k] for k in ('plausible', 'reasons', 'box', 'lungs')})
            masks.append(cxrlib.lung_mask_source(p, w, h))
        batch.clear()

    for i, r in enumerate(rows):
        im = cxrlib.load_grey(os.path.join(data_dir, r['image']))
        images.append(np.round(im * 255).astype(np.uint8))
        batch.append(im)
        if len(batch) == 32:
            flush()
        if i % 500 == 0:
            print(f'  lung fields {i}/{len(rows)}', flush=True)
    if batch:
        flush()
    obj = np.empty(len(images), dtype=object)
    obj[:] = images
    mobj = np.empty(len(masks), dtype=object)
    mobj[:] = masks
    np.savez(cache_path, images=obj, masks=mobj, fields=json.dumps(fields),
             names=np.array([r['image'] for r in rows]))
    return obj, mobj, fields


# --------------------------------------------------------------------------- samples

def crop_box(field, w, h):
    """The lung-field box, or the whole image when the lung model found no plausible field
    (a few images; the record lists the site's). The TypeScript pipeline does not score those
    at all; the recipe still evaluates them, on the whole image, in every section alike."""
    return field['box'] if field['plausible'] else [0, 0, w, h]


def jitter_box(box, w, h, rng, amount=0.08):
    l, t, r, b = box
    bw, bh = r - l, b - t
    d = rng.uniform(-amount, amount, 4)
    l2 = max(0, int(round(l + d[0] * bw)))
    t2 = max(0, int(round(t + d[1] * bh)))
    r2 = min(w, int(round(r + d[2] * bw)))
    b2 = min(h, int(round(b + d[3] * bh)))
    if r2 - l2 < 16 or b2 - t2 < 16:
        return box
    return [l2, t2, r2, b2]


def mask_in_box(mask, box, size=CLS_SIZE):
    """Source lung mask sampled (nearest, pixel centres) on the size x size grid of a box."""
    l, t, r, b = box
    xs = np.minimum(l + ((np.arange(size) + 0.5) * (r - l) / size).astype(int), r - 1)
    ys = np.minimum(t + ((np.arange(size) + 0.5) * (b - t) / size).astype(int), b - 1)
    return mask[np.ix_(ys, xs)]


def make_batch(images, masks, fields, sel, rng, train):
    xs, ms = [], []
    for i in sel:
        im = images[i]
        h, w = im.shape
        box = crop_box(fields[i], w, h)
        if train:
            box = jitter_box(box, w, h, rng)
        crop = im[box[1]:box[3], box[0]:box[2]].astype(np.float32) / np.float32(255)
        xs.append(cxrlib.resize_area(crop, CLS_SIZE, CLS_SIZE))
        ms.append(mask_in_box(masks[i], box))
    return torch.from_numpy(np.stack(xs)).unsqueeze(1), torch.from_numpy(np.stack(ms)).unsqueeze(1).float()


def augment(x, lung, g):
    """x: [n,1,224,224] display grey in [0,1]; lung: [n,1,224,224] lung mask of the crop.
    Small rotation (+-7 deg) / scale (0.9-1.1) / shift (+-4%); brightness +-10%, contrast
    0.8-1.2, gamma exp(+-0.3); random border blanking (a band of 3-12% on a side, black/white/
    grey, outside the dilated lungs) and text-like marks (blocks of bright strokes) outside the
    dilated lungs. No flips."""
    n = x.shape[0]
    r = lambda *s: torch.rand(*s, generator=g)
    angle = (r(n) * 2 - 1) * math.radians(7)
    scale = 1 / (0.9 + r(n) * 0.2)
    shift = (r(n, 2) * 2 - 1) * 0.04
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1),
                         torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    x = F.grid_sample(x, grid, padding_mode='border', align_corners=False)
    lung = F.grid_sample(lung, grid, padding_mode='zeros', align_corners=False)
    outside = 1 - (F.max_pool2d(lung, 9, 1, 4) > 0.25).float()  # dilated by 4 px
    size = x.shape[-1]
    yy = torch.arange(size).view(1, size, 1).float()
    xx = torch.arange(size).view(1, 1, size).float()
    for k in range(n):
        if float(r(1)) < 0.4:  # border blanking (collimation, cropped film edge)
            side = int(r(1) * 4)
            width = int(size * (0.03 + float(r(1)) * 0.09))
            band = torch.zeros(size, size)
            if side == 0:
                band[:, :width] = 1
            elif side == 1:
                band[:, -width:] = 1
            elif side == 2:
                band[:width, :] = 1
            else:
                band[-width:, :] = 1
            value = float(torch.tensor([0.0, 1.0, float(r(1))])[int(r(1) * 3)])
            sel = band * outside[k, 0]
            x[k, 0] = x[k, 0] * (1 - sel) + value * sel
        if float(r(1)) < 0.5:  # text-like marks
            for _ in range(1 + int(r(1) * 3)):
                mw, mh = 10 + int(r(1) * 30), 6 + int(r(1) * 8)
                x0, y0 = int(r(1) * (size - mw)), int(r(1) * (size - mh))
                strokes = (torch.rand(1, mh, mw, generator=g) < 0.45).float()
                strokes[:, :, torch.rand(mw, generator=g) < 0.35] = 0  # gaps between glyphs
                sel = torch.zeros(size, size)
                sel[y0:y0 + mh, x0:x0 + mw] = strokes[0]
                sel = sel * outside[k, 0]
                value = 1.0 if float(r(1)) < 0.7 else 0.0
                x[k, 0] = x[k, 0] * (1 - sel) + value * sel
    gamma = torch.exp((r(n, 1, 1, 1) * 2 - 1) * 0.3)
    contrast = 0.8 + r(n, 1, 1, 1) * 0.4
    brightness = (r(n, 1, 1, 1) * 2 - 1) * 0.10
    x = x.clamp(1e-6, 1) ** gamma
    return ((x - 0.5) * contrast + 0.5 + brightness).clamp(0, 1)


def norm(x):
    return (x - CLS_MEAN) / CLS_STD


def predict_planes(net, planes, batch_size=64):
    """planes: tensor [n,1,224,224] unnormalised. Returns (logits, features) as numpy."""
    net.eval()
    lo, fe = [], []
    with torch.no_grad():
        for s in range(0, len(planes), batch_size):
            z, a = net(norm(planes[s:s + batch_size]))
            lo.append(z.numpy())
            fe.append(a.numpy())
    return np.concatenate(lo), np.concatenate(fe)


def eval_planes(images, masks, fields, sel):
    return make_batch(images, masks, fields, sel, None, train=False)


# --------------------------------------------------------------------------- training

def train(net, images, masks, fields, labels, idx_train, idx_tune, epochs, lr, seed, batch_size,
          log, tag, weight_decay=1e-4):
    g = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    steps = max(1, math.ceil(len(idx_train) / batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=epochs, steps_per_epoch=steps,
                                                pct_start=0.2)
    y_train = labels[idx_train]
    pos_weight = torch.tensor((y_train == 0).sum() / max(1, y_train.sum()), dtype=torch.float32)
    tune_x, _ = eval_planes(images, masks, fields, idx_tune)
    tune_y = labels[idx_tune]
    history, best = [], (-1.0, None, 0)
    started = time.time()
    for epoch in range(1, epochs + 1):
        net.train()
        order = idx_train[torch.randperm(len(idx_train), generator=g).numpy()]
        total, seen = 0.0, 0
        for s in range(0, len(order), batch_size):
            b = order[s:s + batch_size]
            if len(b) < 2:
                continue
            x, m = make_batch(images, masks, fields, b, rng, train=True)
            x = augment(x, m, g)
            logits, _ = net(norm(x))
            loss = F.binary_cross_entropy_with_logits(logits, torch.from_numpy(labels[b]).float(),
                                                      pos_weight=pos_weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(b)
            seen += len(b)
        z, _ = predict_planes(net, tune_x)
        p = 1 / (1 + np.exp(-z))
        eps = 1e-7
        rec = {'epoch': epoch, 'train_loss': total / max(1, seen),
               'tuning_loss': float(-np.mean(tune_y * np.log(p + eps) + (1 - tune_y) * np.log(1 - p + eps))),
               'tuning_auc': cxrlib.auc(tune_y, z), 'seconds': round(time.time() - started, 1)}
        history.append(rec)
        log(f'{tag} ' + json.dumps(rec))
        score = rec['tuning_auc'] if not math.isnan(rec['tuning_auc']) else -rec['tuning_loss']
        if score > best[0]:
            best = (score, {k: v.clone() for k, v in net.state_dict().items()}, epoch)
    net.load_state_dict(best[1])
    net.eval()
    return history, best[2], round(time.time() - started, 1)


# --------------------------------------------------------------------------- calibration

def platt(z, y, iterations=100):
    """Platt scaling p = sigmoid(a z + c), fitted by Newton's method on Platt's smoothed
    targets ((N+ + 1)/(N+ + 2) for positives, 1/(N- + 2) for negatives)."""
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    npos, nneg = y.sum(), len(y) - y.sum()
    if npos == 0 or nneg == 0:
        return 1.0, 0.0  # smoke runs only: a split without both classes
    t = np.where(y == 1, (npos + 1) / (npos + 2), 1 / (nneg + 2))
    a, c = 1.0, 0.0
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(a * z + c)))
        grad = np.array([((p - t) * z).sum(), (p - t).sum()])
        wgt = p * (1 - p)
        hess = np.array([[(wgt * z * z).sum(), (wgt * z).sum()], [(wgt * z).sum(), wgt.sum()]]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        a, c = a - step[0], c - step[1]
        if np.abs(step).max() < 1e-12:
            break
    return float(a), float(c)


def choose_threshold(y, p, target=0.90):
    """Highest threshold with sensitivity >= target on these cases (= best specificity), placed
    half-way to the next lower distinct score so float noise cannot move a case across it."""
    y = np.asarray(y)
    p = np.asarray(p, dtype=np.float64)
    pos = np.sort(p[y == 1])[::-1]
    if len(pos) == 0 or (y == 0).sum() == 0:
        return 0.5  # smoke runs only: a split without both classes
    k = math.ceil(target * len(pos))  # need at least k positives >= threshold
    t = pos[k - 1]
    lower = p[p < t]
    return float((t + lower.max()) / 2) if len(lower) else float(t)


# --------------------------------------------------------------------------- probes, CAM

def probe_planes(planes, lungmask, kind):
    """Shortcut probes on the classifier input (unnormalised planes [n,1,224,224]); hidden
    pixels get the mean of their own image. border_only: only the outer 15% frame kept
    (as train.py's probe); lungs_out: pixels of the lung mask dilated by 4 px hidden;
    lungs_only: everything outside that dilated mask hidden."""
    fill = planes.mean(dim=(2, 3), keepdim=True)
    n, _, h, w = planes.shape
    if kind == 'border_only':
        keep = torch.ones(1, 1, h, w)
        mh, mw = int(h * 0.15), int(w * 0.15)
        keep[:, :, mh:h - mh, mw:w - mw] = 0
    else:
        dil = (F.max_pool2d(lungmask, 9, 1, 4) > 0.5).float()
        keep = 1 - dil if kind == 'lungs_out' else dil
    return planes * keep + fill * (1 - keep)


def cam_peaks(features, weight, boxes):
    """Exact CAM = ReLU(sum_k w_k A_k) on the 14 x 14 grid; the peak is its first maximal cell
    in raster order (the raw map's when the ReLU leaves all zeros), mapped to source pixels at
    the cell centre: x = left + (j + 0.5) / 14 * (right - left)."""
    out = []
    for a, box in zip(features, boxes):
        m = np.tensordot(weight, a, axes=(0, 0))
        cam = np.maximum(m, 0)
        src = cam if cam.max() > 0 else m
        i, j = np.unravel_index(int(np.argmax(src)), src.shape)
        l, t, r, b = box
        gh, gw = src.shape
        out.append({'cell': [int(i), int(j)], 'x': l + (j + 0.5) / gw * (r - l),
                    'y': t + (i + 0.5) / gh * (b - t), 'all_zero': bool(cam.max() <= 0)})
    return out


def peak_placement(peak, lungmask):
    """Where a cam_peaks peak lies in its source image: (inside the lung mask, in the outer 10%
    band: x < 0.1 W or x >= 0.9 W or y < 0.1 H or y >= 0.9 H), the pixel under it clamped in."""
    h, w = lungmask.shape
    px, py = min(int(peak['x']), w - 1), min(int(peak['y']), h - 1)
    return bool(lungmask[py, px]), bool(px < 0.1 * w or px >= 0.9 * w or py < 0.1 * h or py >= 0.9 * h)


# --------------------------------------------------------------------------- main

def run_repeats(args, pretrained_state, simg, smask, sfield, sl, srows, log):
    """Site fine-tuning repeated on other patient-level splits (same HMAC rule, seeds 2..),
    from the same pre-trained weights, epoch chosen on each split's tuning part; each split then
    calibrated and given its operating point on its tuning part as the primary run is (Platt,
    sensitivity >= 0.90), and measured on its test part: AUC, ECE, sensitivity/specificity,
    CAM peaks inside the lung mask and in the outer band. The test predictions of all splits
    are pooled for one ECE on ~5x the images of one test split, beside what perfect calibration
    shows on the same scores (consistency resampling, ADR 0058)."""
    repeats = []
    pooled_y, pooled_p = [], []
    rep_epochs = args.repeat_epochs or args.epochs
    seeds = [int(v) for v in args.repeat_seeds.split(',')] if args.repeat_seeds else range(2, 2 + args.repeats)
    for seed in seeds:
        sp = cxrlib.split_by_patient([(r['patient_id'], int(r['pneumonia'])) for r in srows], seed)
        ri = {s: np.array([i for i, r in enumerate(srows) if sp[r['patient_id']] == s], dtype=int)
              for s in ('train', 'tuning', 'test')}
        rnet = LungFieldNet()
        rnet.load_state_dict(pretrained_state)
        rh, rb, rs = train(rnet, simg, smask, sfield, sl, ri['train'], ri['tuning'], rep_epochs, args.lr,
                           args.seed, args.batch_size, log, f'repeat{seed}')
        tx, _ = eval_planes(simg, smask, sfield, ri['tuning'])
        tz, _ = predict_planes(rnet, tx)
        y_tune, y_test = sl[ri['tuning']], sl[ri['test']]
        a, c = platt(tz, y_tune)
        threshold = choose_threshold(y_tune, 1 / (1 + np.exp(-(a * tz.astype(np.float64) + c))))
        rx, _ = eval_planes(simg, smask, sfield, ri['test'])
        rz, rf = predict_planes(rnet, rx)
        p_test = 1 / (1 + np.exp(-(a * rz.astype(np.float64) + c)))
        # CAM peaks with the calibrated head (a > 0 scales the map, so the peak is the raw one's).
        w = rnet.head.weight.detach().numpy()[0].astype(np.float64) * a
        boxes = [crop_box(sfield[i], simg[i].shape[1], simg[i].shape[0]) for i in ri['test']]
        in_lung, in_band = [], []
        for i, pk in zip(ri['test'], cam_peaks(rf.astype(np.float64), w, boxes)):
            inside, band = peak_placement(pk, smask[i])
            in_lung.append(inside)
            in_band.append(band)
        at = cxrlib.sens_spec(y_test, p_test, threshold)
        pooled_y += y_test.tolist()
        pooled_p += p_test.tolist()
        repeats.append({'split_seed': seed, 'test_auc': cxrlib.auc(y_test, rz), 'best_epoch': rb,
                        'tuning_auc': rh[rb - 1]['tuning_auc'], 'train_seconds': rs,
                        'counts': {s: int(len(i)) for s, i in ri.items()},
                        'platt': {'a': a, 'c': c}, 'threshold': threshold,
                        'ece_test': cxrlib.ece(y_test, p_test)[0],
                        'sensitivity_test': at['sensitivity'], 'specificity_test': at['specificity'],
                        'peak_in_lung_mask': float(np.mean(in_lung)) if in_lung else None,
                        'peak_in_outer_10pct_band': float(np.mean(in_band)) if in_band else None,
                        'test_images': [srows[i]['image'] for i in ri['test']],
                        'test_labels': y_test.tolist(), 'test_scores': p_test.tolist()})
        log('repeat ' + json.dumps({k: v for k, v in repeats[-1].items() if not k.startswith('test_') or k in ('test_auc',)}))
    def values(key):
        return np.array([r[key] for r in repeats if r[key] is not None], dtype=np.float64)

    def mean(v):
        return float(v.mean()) if len(v) else None

    def sd(v):
        return float(v.std(ddof=1)) if len(v) > 1 else None

    aucs = values('test_auc')
    summary = {'epochs': rep_epochs, 'rule': 'src/finetune/patientSplit.ts rule, 60/20/20, seeds 2..', 'splits': repeats,
               'test_auc_mean': mean(aucs), 'test_auc_sd': sd(aucs),
               'test_auc_min': float(aucs.min()) if len(aucs) else None,
               'test_auc_max': float(aucs.max()) if len(aucs) else None,
               'ece_test_mean': mean(values('ece_test')),
               'sensitivity_test_mean': mean(values('sensitivity_test')),
               'specificity_test_mean': mean(values('specificity_test')),
               'peak_in_lung_mask_mean': mean(values('peak_in_lung_mask')),
               'peak_in_lung_mask_sd': sd(values('peak_in_lung_mask')),
               'peak_in_outer_band_mean': mean(values('peak_in_outer_10pct_band'))}
    if pooled_p:
        y, p = np.array(pooled_y), np.array(pooled_p)
        observed = cxrlib.ece(y, p)[0]
        rng = np.random.default_rng(1)
        perfect = np.sort([cxrlib.ece((rng.random(len(p)) < p).astype(int), p)[0] for _ in range(2000)])
        distinct = {n for r in repeats for n in r['test_images']}
        summary |= {'pooled_predictions': int(len(p)), 'pooled_images': len(distinct),
                    'ece_pooled': observed,
                    'ece_pooled_if_perfectly_calibrated_median': float(np.median(perfect)),
                    'ece_pooled_if_perfectly_calibrated_p95': float(np.quantile(perfect, 0.95)),
                    'ece_pooled_consistency_p': float((1 + np.sum(perfect >= observed)) / (1 + len(perfect))),
                    'ece_rule': '10 equal-width bins (cxrlib.ece); perfect calibration: outcomes redrawn as Bernoulli(score), 2000 times, seed 1'}
    return summary


def load_rows(path):
    return list(csv.DictReader(open(os.path.join(path, 'labels.csv'))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--lungs', required=True, help='cxr-lungs.pt written by training/lungs.py')
    ap.add_argument('--out', required=True)
    ap.add_argument('--kermany', default=os.path.join(REPO, '..', '..', 'shared', 'data', 'cxr-train-kermany'))
    ap.add_argument('--site', default=os.path.join(REPO, '..', '..', 'shared', 'data', 'cxr-site-nih'))
    ap.add_argument('--site-splits', default=os.path.join(REPO, 'models', 'cxr-pneumonia', '1.2.0', 'splits.json'))
    ap.add_argument('--pretrain-epochs', type=int, default=8)
    ap.add_argument('--pretrain-lr', type=float, default=2e-3)
    ap.add_argument('--epochs', type=int, default=24)
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--batch-size', type=int, default=32)
    ap.add_argument('--seed', type=int, default=7)
    ap.add_argument('--repeats', type=int, default=5, help='extra site splits (seeds 2..)')
    ap.add_argument('--repeat-seeds', default='', help='explicit split seeds for the repeats, e.g. 4,5,6 (default 2..)')
    ap.add_argument('--repeat-epochs', type=int, default=0, help='epochs for the repeated splits (0: --epochs)')
    ap.add_argument('--pretrained', default='', help='reuse a pre-trained state dict (skips stage 2)')
    ap.add_argument('--only-repeats', action='store_true',
                    help='with --pretrained: only the repeated site splits, written to repeats.json')
    ap.add_argument('--limit', type=int, default=0, help='use only N images per dataset (CI smoke run)')
    ap.add_argument('--edge-guard', type=float, default=0.0,
                    help='LUNG_FIELD.md step 2b: keep only lung also found with this share of each side cut off (0: none; 2.0.2 uses 0.04 at inference)')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--version', default='2.0.0', help='the version the package will have: names the ONNX/.pt files and the record')
    args = ap.parse_args()
    if args.edge_guard and not 0 < args.edge_guard < 0.25:
        ap.error(f'--edge-guard {args.edge_guard} is not in (0, 0.25)')
    if args.limit:  # smoke run: every stage once, as short as --epochs says
        args.pretrain_epochs = min(args.pretrain_epochs, args.epochs)
        args.repeats = min(args.repeats, 1)

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    started = time.time()
    logf = open(os.path.join(args.out, 'log.txt'), 'a')

    def log(s):
        print(s, flush=True)
        logf.write(s + '\n')
        logf.flush()

    lung = LungModel(args.lungs)
    lung_sha = cxrlib.sha256_file(args.lungs)
    # The ONNX export lungs.py wrote beside the weights: the package's model.onnx, so the
    # packager can check that the lung model the manifest names is the one trained with.
    lung_onnx = os.path.join(os.path.dirname(os.path.abspath(args.lungs)), 'cxr-lungs.onnx')
    lung_onnx_sha = cxrlib.sha256_file(lung_onnx) if os.path.exists(lung_onnx) else None
    krows, srows = load_rows(args.kermany), load_rows(args.site)
    if args.limit:
        krows = sorted(krows, key=lambda r: cxrlib.patient_key(r['image'], 0))[:args.limit]
        srows = sorted(srows, key=lambda r: cxrlib.patient_key(r['image'], 0))[:args.limit]
    kver = cxrlib.dataset_version(args.kermany, krows)
    sver = cxrlib.dataset_version(args.site, srows)
    log(f'kermany {kver} ({len(krows)}), site {sver} ({len(srows)})')

    # ---- stage 1: lung fields
    rule = f'{cxrlib.LF_THRESHOLD}-{cxrlib.LF_MARGIN}-{cxrlib.LF_MIN_AREA}-{cxrlib.LF_MAX_AREA}-{cxrlib.LF_MIN_CONFIDENCE}-{cxrlib.LF_MIN_FILL}-{cxrlib.LF_MAX_FILL}-{cxrlib.LF_MIN_SEPARATION}'
    if args.edge_guard:
        rule += f'-guard{args.edge_guard}'
    tag = f'{len(krows)}-{len(srows)}-{lung_sha[:12]}-' + hashlib.sha256(rule.encode()).hexdigest()[:8]
    t0 = time.time()
    kimg, kmask, kfield = compute_fields(lung, args.kermany, krows, os.path.join(args.out, f'fields-kermany-{tag}.npz'), args.edge_guard)
    simg, smask, sfield = compute_fields(lung, args.site, srows, os.path.join(args.out, f'fields-site-{tag}.npz'), args.edge_guard)
    field_seconds = round(time.time() - t0, 1)
    kl = np.array([int(r['pneumonia']) for r in krows])
    sl = np.array([int(r['pneumonia']) for r in srows])
    field_summary = {
        'kermany_plausible': int(sum(f['plausible'] for f in kfield)), 'kermany_images': len(kfield),
        'site_plausible': int(sum(f['plausible'] for f in sfield)), 'site_images': len(sfield),
        'site_box_area_fraction_median': float(np.median([
            (f['box'][2] - f['box'][0]) * (f['box'][3] - f['box'][1]) / (simg[i].shape[0] * simg[i].shape[1])
            for i, f in enumerate(sfield) if f['box']])) if len(sfield) else None,
        'site_implausible_images': [srows[i]['image'] for i, f in enumerate(sfield) if not f['plausible']],
        'seconds': field_seconds}
    log('lung fields ' + json.dumps(field_summary))

    # ---- stage 2: pre-training on Kermany (children), patient split 80/10/10 (HMAC, seed 1)
    ksplit = cxrlib.split_by_patient([(r['patient_id'], int(r['pneumonia'])) for r in krows], 1, (0.8, 0.1, 0.1))
    kidx = {s: np.array([i for i, r in enumerate(krows) if ksplit[r['patient_id']] == s], dtype=int)
            for s in ('train', 'tuning', 'test')}
    net = LungFieldNet()
    pre = {}
    if args.pretrained:
        net.load_state_dict(torch.load(args.pretrained))
        prev = os.path.join(os.path.dirname(args.pretrained), 'pretrain.json')
        pre = json.load(open(prev)) if os.path.exists(prev) else {'reused': args.pretrained}
        log(f'pre-trained weights reused from {args.pretrained}')
    else:
        hist, best_epoch, secs = train(net, kimg, kmask, kfield, kl, kidx['train'], kidx['tuning'],
                                       args.pretrain_epochs, args.pretrain_lr, args.seed, args.batch_size, log, 'pretrain')
        kx, _ = eval_planes(kimg, kmask, kfield, kidx['test'])
        kz, _ = predict_planes(net, kx)
        pre = {'history': hist, 'best_epoch': best_epoch, 'train_seconds': secs,
               'splits': {s: {'images': int(len(i)), 'positive': int(kl[i].sum())} for s, i in kidx.items()},
               'split_rule': 'src/finetune/patientSplit.ts rule, seed 1, fractions 0.8/0.1/0.1',
               'kermany_test_auc': cxrlib.auc(kl[kidx['test']], kz)}
        torch.save(net.state_dict(), os.path.join(args.out, 'pretrained.pt'))
        json.dump(pre, open(os.path.join(args.out, 'pretrain.json'), 'w'), indent=1)
        log(f'pretrain done: kermany test AUC {pre["kermany_test_auc"]:.4f}')
    pretrained_state = {k: v.clone() for k, v in net.state_dict().items()}

    if args.only_repeats:
        summary = run_repeats(args, pretrained_state, simg, smask, sfield, sl, srows, log)
        summary |= {'pretrained': args.pretrained, 'pretrained_sha256': cxrlib.sha256_file(args.pretrained) if args.pretrained else None,
                    'lung_model_sha256': lung_sha, 'site_version': sver, 'torch_version': torch.__version__,
                    'seconds': round(time.time() - started, 1)}
        with open(os.path.join(args.out, 'repeats.json'), 'w') as f:
            json.dump(summary, f, indent=1)
        log('repeats ' + json.dumps({k: v for k, v in summary.items() if k != 'splits'}))
        return

    # ---- stage 3: site fine-tuning of the whole network on the 1.2.0 split
    spl = json.load(open(args.site_splits))
    name_to_i = {r['image']: i for i, r in enumerate(srows)}
    sidx = {}
    for s in ('train', 'tuning', 'test'):
        names = [n if n.startswith('images/') else 'images/' + n for n in spl['images'][s]]
        sidx[s] = np.array([name_to_i[n] for n in names if n in name_to_i], dtype=int)
    check = cxrlib.split_by_patient([(r['patient_id'], int(r['pneumonia'])) for r in srows], spl['seed'])
    split_matches_rule = all(check[srows[i]['patient_id']] == s for s, ii in sidx.items() for i in ii)
    log(f'site split from {args.site_splits}: ' + json.dumps({s: len(i) for s, i in sidx.items()}) +
        f'; reproduced by the HMAC rule: {split_matches_rule}')
    hist, best_epoch, ft_seconds = train(net, simg, smask, sfield, sl, sidx['train'], sidx['tuning'],
                                         args.epochs, args.lr, args.seed, args.batch_size, log, 'finetune')

    # ---- stage 4: calibration folded into the head, threshold on tuning
    tx, tm = eval_planes(simg, smask, sfield, sidx['tuning'])
    z_tune, _ = predict_planes(net, tx)
    a, c = platt(z_tune, sl[sidx['tuning']])
    with torch.no_grad():
        raw_w, raw_b = net.head.weight.clone(), net.head.bias.clone()
        net.head.weight.mul_(a)
        net.head.bias.mul_(a).add_(c)
    log(f'platt a={a:.5f} c={c:.5f}')
    z_tune_cal, _ = predict_planes(net, tx)
    p_tune = 1 / (1 + np.exp(-z_tune_cal.astype(np.float64)))
    threshold = choose_threshold(sl[sidx['tuning']], p_tune)

    # ---- stage 5: evaluation on the test split (never used above)
    ex, em = eval_planes(simg, smask, sfield, sidx['test'])
    z_test, f_test = predict_planes(net, ex)
    p_test = 1 / (1 + np.exp(-z_test.astype(np.float64)))
    y_test, y_tune = sl[sidx['test']], sl[sidx['tuning']]
    ece_tune, rel_tune = cxrlib.ece(y_tune, p_tune)
    ece_test, rel_test = cxrlib.ece(y_test, p_test)
    evaluation = {
        'test_auc': cxrlib.delong_ci(y_test, p_test) if 0 < y_test.sum() < len(y_test) else {'auc': float('nan')}, 'tuning_auc': cxrlib.auc(y_tune, p_tune),
        'threshold': threshold, 'threshold_rule': 'tuning split: highest threshold with sensitivity >= 0.90 (best specificity), half-way to the next lower tuning score',
        'at_threshold_tuning': cxrlib.sens_spec(y_tune, p_tune, threshold),
        'at_threshold_test': cxrlib.sens_spec(y_test, p_test, threshold),
        'ece_rule': '10 equal-width bins on [0,1], |mean predicted - observed rate| weighted by bin share',
        'ece_tuning': ece_tune, 'ece_test': ece_test,
        'reliability_tuning': rel_tune, 'reliability_test': rel_test,
        'ece_test_uncalibrated': cxrlib.ece(y_test, 1 / (1 + np.exp(-(z_test - c) / a)))[0],
    }
    accepted = np.array([sfield[i]['plausible'] for i in sidx['test']])
    evaluation['test_refused_by_lung_gate'] = [srows[i]['image'] for i in sidx['test'] if not sfield[i]['plausible']]
    evaluation['test_auc_gate_accepted_only'] = cxrlib.auc(y_test[accepted], p_test[accepted])
    evaluation['note_refused'] = ('images whose lung field is not plausible are scored on the whole image in this '
                                  'record (a TypeScript 2.x would refuse them); AUC on the accepted ones is given too')
    log('evaluation ' + json.dumps({k: evaluation[k] for k in ('test_auc', 'threshold', 'at_threshold_test', 'ece_tuning', 'ece_test')}))

    # shortcut probes
    probes = {}
    for kind in ('border_only', 'lungs_out', 'lungs_only'):
        zp, _ = predict_planes(net, probe_planes(ex, em, kind))
        probes[f'auc_test_{kind}'] = cxrlib.auc(y_test, zp)
    probes['auc_test_full'] = evaluation['test_auc']['auc']
    probes['rule'] = ('on the classifier input; hidden pixels = the image mean. border_only: outer 15% frame kept; '
                      'lungs_out: lung mask dilated by 4 px hidden; lungs_only: all but that dilated mask hidden')

    # CAM placement on the test split
    w = net.head.weight.detach().numpy()[0].astype(np.float64)
    boxes = [crop_box(sfield[i], simg[i].shape[1], simg[i].shape[0]) for i in sidx['test']]
    peaks = cam_peaks(f_test.astype(np.float64), w, boxes)
    in_lung, in_band, rnd_lung_crop, rnd_band_crop, rnd_lung_img = [], [], [], [], []
    for k, (i, pk) in enumerate(zip(sidx['test'], peaks)):
        h_, w_ = simg[i].shape
        inside, band = peak_placement(pk, smask[i])
        in_lung.append(inside)
        in_band.append(band)
        l, t, r, b = boxes[k]
        rnd_lung_crop.append(float(smask[i][t:b, l:r].mean()))
        bm = np.zeros((h_, w_), bool)
        bm[:int(math.ceil(0.1 * h_))] = True
        bm[int(math.ceil(0.9 * h_)):] = True
        bm[:, :int(math.ceil(0.1 * w_))] = True
        bm[:, int(math.ceil(0.9 * w_)):] = True
        rnd_band_crop.append(float(bm[t:b, l:r].mean()))
        rnd_lung_img.append(float(smask[i].mean()))
    cam = {'grid': list(f_test.shape[2:]), 'images': len(peaks),
           'peak_in_lung_mask': float(np.mean(in_lung)), 'peak_in_outer_10pct_band': float(np.mean(in_band)),
           'peak_in_lung_ci': cxrlib.wilson(int(np.sum(in_lung)), len(in_lung)),
           'peak_in_band_ci': cxrlib.wilson(int(np.sum(in_band)), len(in_band)),
           'random_in_lung_within_crop': float(np.mean(rnd_lung_crop)),
           'random_in_band_within_crop': float(np.mean(rnd_band_crop)),
           'random_in_lung_whole_image': float(np.mean(rnd_lung_img)),
           'random_in_band_whole_image': 0.36,
           'all_zero_cams': int(sum(p['all_zero'] for p in peaks)),
           'rule': 'peak = first maximal cell of ReLU(sum_k w_k A_k) (raw map if all zero), at its cell centre in source pixels; lung mask = LUNG_FIELD.md step 8; band = x<0.1W or x>=0.9W or y<0.1H or y>=0.9H'}
    log('cam ' + json.dumps(cam))

    # pointing game on boxes.csv
    brows = list(csv.DictReader(open(os.path.join(args.site, 'boxes.csv'))))
    split_of = {i: s for s, ii in sidx.items() for i in ii}
    pg = []
    bsel = [name_to_i[r['image']] for r in brows if r['image'] in name_to_i]
    if bsel:
        bx, _ = eval_planes(simg, smask, sfield, bsel)
        _, bf = predict_planes(net, bx)
        bboxes = [crop_box(sfield[i], simg[i].shape[1], simg[i].shape[0]) for i in bsel]
        bpeaks = cam_peaks(bf.astype(np.float64), w, bboxes)
        brow_by = {r['image']: r for r in brows}
        for i, pk, cb in zip(bsel, bpeaks, bboxes):
            r = brow_by[srows[i]['image']]
            x, y, bw, bh = (float(r[k]) for k in ('x', 'y', 'width', 'height'))
            h_, w_ = simg[i].shape
            ix0, iy0 = max(x, cb[0]), max(y, cb[1])
            ix1, iy1 = min(x + bw, cb[2]), min(y + bh, cb[3])
            inter = max(0, ix1 - ix0) * max(0, iy1 - iy0)
            pg.append({'image': srows[i]['image'], 'split': split_of.get(i), 'peak': [pk['x'], pk['y']],
                       'hit': bool(x <= pk['x'] < x + bw and y <= pk['y'] < y + bh),
                       'random_whole_image': bw * bh / (w_ * h_),
                       'random_within_crop': inter / ((cb[2] - cb[0]) * (cb[3] - cb[1]))})
    def pg_summary(items):
        k = sum(p['hit'] for p in items)
        return {'n': len(items), 'hits': int(k), 'hit_rate': k / len(items) if items else None,
                'hit_rate_ci': cxrlib.wilson(k, len(items)),
                'random_expected_whole_image': float(np.mean([p['random_whole_image'] for p in items])) if items else None,
                'random_expected_within_crop': float(np.mean([p['random_within_crop'] for p in items])) if items else None}
    pointing = {'all': pg_summary(pg), 'not_in_train_split': pg_summary([p for p in pg if p['split'] != 'train']),
                'per_image': pg}
    log('pointing ' + json.dumps({k: pointing[k] for k in ('all', 'not_in_train_split')}))

    # robustness: the whole pipeline (lung model included) on altered source images
    def scores_of(imgs):
        planes, bxs = [], []
        for im in imgs:
            field, _, plane, box = pipeline(lung, im, args.edge_guard)
            planes.append(plane)
            bxs.append(box)
        z, _ = predict_planes(net, torch.from_numpy(np.stack(planes)).unsqueeze(1))
        return 1 / (1 + np.exp(-z.astype(np.float64))), bxs

    base_imgs = [simg[i].astype(np.float32) / np.float32(255) for i in sidx['test']]
    p_base, box_base = scores_of(base_imgs)

    def jpeg(im):
        buf = io.BytesIO()
        Image.fromarray(np.round(im * 255).astype(np.uint8)).save(buf, format='JPEG', quality=85)
        return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert('L'), dtype=np.float32) / np.float32(255)

    def crop2(im):
        h_, w_ = im.shape
        dx, dy = math.floor(0.02 * w_), math.floor(0.02 * h_)
        return im[dy:h_ - dy, dx:w_ - dx]

    variants = {'brightness_plus_5pct': lambda im: np.clip(im + np.float32(0.05), 0, 1),
                'brightness_minus_5pct': lambda im: np.clip(im - np.float32(0.05), 0, 1),
                'crop_2pct_per_side': crop2, 'jpeg_q85': jpeg}
    robustness = {'rule': 'site test split, full pipeline (lung model, lung field, classifier) on the altered source image; brightness = display value +-0.05 clamped to [0,1]; crop = floor(0.02 W) and floor(0.02 H) pixels off each side; JPEG = PIL quality 85 of the 8-bit image',
                  'pipeline_vs_cached_max_abs_diff': float(np.abs(p_base - p_test).max())}
    for name, fn in variants.items():
        pv, _ = scores_of([fn(im) for im in base_imgs])
        d = np.abs(pv - p_base)
        flips = (pv >= threshold) != (p_base >= threshold)
        robustness[name] = {'mean_abs_dp': float(d.mean()), 'max_abs_dp': float(d.max()),
                            'flip_rate': float(flips.mean()), 'flips': int(flips.sum()), 'n': int(len(d))}
    log('robustness ' + json.dumps(robustness))

    # ---- export
    onnx_path = os.path.join(args.out, f'cxr-pneumonia-{args.version}.onnx')
    torch.onnx.export(ExportWrapper(net), torch.zeros(1, 1, CLS_SIZE, CLS_SIZE), onnx_path,
                      input_names=['image'], output_names=['scores', 'features'],
                      dynamic_axes={'image': {0: 'n'}, 'scores': {0: 'n'}, 'features': {0: 'n'}},
                      opset_version=13, do_constant_folding=True)
    torch.save(net.state_dict(), os.path.join(args.out, f'cxr-pneumonia-{args.version}.pt'))
    total_seconds = round(time.time() - started, 1)

    repeat_summary = run_repeats(args, pretrained_state, simg, smask, sfield, sl, srows, log)
    repeat_summary['primary_split_test_auc'] = evaluation['test_auc']['auc']

    head = net.head
    run = {
        'recipe': 'training/pneumonia_v2.py', 'model': 'cxr-pneumonia', 'version': args.version,
        'parameters': vars(args) | {
            'input_size': CLS_SIZE, 'architecture': 'LungFieldNet: per-image standardisation, (24,48,96,192) four stride-2 stages + dilated conv, GAP, linear; CAM 14x14',
            'parameters_count': int(sum(p.numel() for p in net.parameters())),
            'normalisation': {'mean': CLS_MEAN, 'std': CLS_STD, 'of': 'grey in [0,1] of the lung-field crop after the area resize'},
            'lung_field': 'training/LUNG_FIELD.md', 'lung_model_sha256': lung_sha,
            'lung_model_onnx_sha256': lung_onnx_sha,
            'augmentation': augment.__doc__.strip() + ' Lung box jitter: each edge +-8% of the box size.',
            'best_epoch': best_epoch},
        'datasets': {'kermany': {'version': kver, 'images': len(krows)}, 'site': {'version': sver, 'images': len(srows)}},
        'lung_fields': field_summary,
        'pretraining': pre,
        'site_split': {'file': os.path.relpath(args.site_splits, REPO), 'rule': spl['rule'], 'seed': spl['seed'],
                       'counts': {s: {'images': int(len(i)), 'positive': int(sl[i].sum())} for s, i in sidx.items()},
                       'reproduced_by_rule': split_matches_rule},
        'history': hist, 'finetune_seconds': ft_seconds,
        'calibration': {'method': 'Platt scaling on the tuning split (Newton, Platt targets), folded into the head: w = a*w_raw, b = a*b_raw + c',
                        'a': a, 'c': c, 'raw_weight_norm': float(raw_w.norm()), 'raw_bias': float(raw_b[0])},
        'evaluation': evaluation,
        'test': {'images': [srows[i]['image'] for i in sidx['test']], 'labels': y_test.tolist(),
                 'scores': [float(s) for s in p_test]},
        'tuning': {'images': [srows[i]['image'] for i in sidx['tuning']], 'labels': y_tune.tolist(),
                   'scores': [float(s) for s in p_tune]},
        'shortcut_probes': probes, 'cam': cam, 'pointing_game': pointing, 'robustness': robustness,
        'repeated_splits': repeat_summary,
        'head': {'weight_initializer': 'net.head.weight', 'bias_initializer': 'net.head.bias',
                 'weight_shape': list(head.weight.shape), 'layout': 'classByChannel',
                 'calibrated': True},
        'onnx': {'input': {'name': 'image', 'shape': ['n', 1, CLS_SIZE, CLS_SIZE]},
                 'outputs': {'scores': ['n', 1], 'features': ['n', net.channels, 14, 14]}, 'opset': 13},
        'artefacts': {os.path.basename(onnx_path): cxrlib.sha256_file(onnx_path)},
        'torch_version': torch.__version__,
        'seconds_to_export': total_seconds,
        'seconds': round(time.time() - started, 1),
    }
    with open(os.path.join(args.out, 'training-run.json'), 'w') as f:
        json.dump(run, f, indent=1)
    log(f'wrote {onnx_path} and training-run.json in {run["seconds"]} s')


if __name__ == '__main__':
    main()
