#!/usr/bin/env python3
"""Radiolens cxr-lungs: lung-field segmentation recipe (issue #11).

A small U-Net that maps a whole frontal chest radiograph, stretched to 256 x 256 with the
area resize, to two per-pixel probabilities: the patient's RIGHT lung (image left, channel 0)
and the patient's LEFT lung (image right, channel 1). Trained ONLY on the permissive rows
(`permissive == 1`, CC BY) of ../shared/data/cxr-lung-masks, split by patient; the
non-permissive rows are used only to measure (an extra, external test that distributes
nothing). Masks follow V7's convention: the lungs include the part behind the heart and reach
down to the diaphragm's extent (NOT the Montgomery/JSRT convention).

Exports ONNX (opset 13, dynamic batch): input `image` [n,1,256,256] = (grey - 0.5) / 0.25 with
grey in [0,1]; output `lungs` [n,2,256,256] sigmoid probabilities. Writes a run record.

Usage: /usr/bin/python3 training/lungs.py --data ../shared/data/cxr-lung-masks --out build/lungs
       [--epochs 100] [--limit N] [--seed 1] [--train-seed N] [--site DIR] [--air] [--opacity]
"""
import argparse
import csv
import json
import math
import os
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import cxrlib
from cxrlib import LUNG_SIZE, LUNG_MEAN, LUNG_STD


# --------------------------------------------------------------------------- network

def cbr(cin, cout, stride=1):
    return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class Block(nn.Sequential):
    def __init__(self, cin, cout, stride=1):
        super().__init__(*cbr(cin, cout, stride), *cbr(cout, cout))


class LungUNet(nn.Module):
    """Stride-2 stem (256 -> 128), a 4-level U-Net at 128/64/32/16 with an 8x8 bottleneck,
    a 1x1 output conv at 128 and a bilinear x2 upsampling of the logits back to 256."""

    def __init__(self, widths=(8, 24, 48, 96, 128)):
        super().__init__()
        w = widths
        self.stem = nn.Sequential(*cbr(1, w[0], 2))
        self.enc0 = Block(w[0], w[0])
        self.enc1 = Block(w[0], w[1], 2)
        self.enc2 = Block(w[1], w[2], 2)
        self.enc3 = Block(w[2], w[3], 2)
        self.bott = Block(w[3], w[4], 2)
        self.dec3 = Block(w[4] + w[3], w[3])
        self.dec2 = Block(w[3] + w[2], w[2])
        self.dec1 = Block(w[2] + w[1], w[1])
        self.dec0 = Block(w[1] + w[0], w[0])
        self.out = nn.Conv2d(w[0], 2, 1)

    @staticmethod
    def up(x, like):
        return F.interpolate(x, size=like.shape[2:], mode='bilinear', align_corners=False)

    def forward(self, x):
        e0 = self.enc0(self.stem(x))
        e1 = self.enc1(e0)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        b = self.bott(e3)
        d3 = self.dec3(torch.cat([self.up(b, e3), e3], 1))
        d2 = self.dec2(torch.cat([self.up(d3, e2), e2], 1))
        d1 = self.dec1(torch.cat([self.up(d2, e1), e1], 1))
        d0 = self.dec0(torch.cat([self.up(d1, e0), e0], 1))
        logits = self.out(d0)
        return F.interpolate(logits, scale_factor=2, mode='bilinear', align_corners=False)


class ExportWrapper(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, image):
        return torch.sigmoid(self.net(image))


# --------------------------------------------------------------------------- augmentation

def pixel_grids(x):
    """Row and column index of every pixel of x's [h, w] planes, as float tensors."""
    h, w = x.shape[2], x.shape[3]
    yy = torch.arange(h, dtype=torch.float32).view(h, 1).expand(h, w)
    xx = torch.arange(w, dtype=torch.float32).view(1, w).expand(h, w)
    return yy, xx


def picked(n, probability, r):
    """The indices of a batch of n that an augmentation applies to, one draw each in order."""
    for i in range(n):
        if float(r(1)) < probability:
            yield i


def air_beside_body(x, y, g, probability=0.6):
    """Some radiographs show the detector beyond the body: black air lateral to the chest wall,
    below the arms, in the lower corners. The training images are mostly collimated to the
    chest, and cxr-lungs 1.0.0 took such air for lung (ADR 0162: 91 of 573 site lung fields ran
    to the image edge). For 60% of the images this paints air outside a random body
    outline: an ellipse around both lungs (semi-axes 1.05-1.45 x the lungs' half-width and
    1.1-1.7 x their half-height, with a wobbly edge), never nearer to a lung than a random chest
    wall of 4-14 grid pixels, sometimes only below a random level (arms above it). The air is
    0-0.8 x the lungs' own mean grey, skewed dark (median 0.2 x; on site images air beside the
    body measured 0.02-0.25 x the lungs' grey), with a gentle gradient and noise, blended over a soft 1-4 pixel skin edge. Masks unchanged:
    air is never lung. x: [n,1,256,256] display values in [0,1]; y: [n,2,256,256] soft masks."""
    r = lambda *s: torch.rand(*s, generator=g)
    h, w = x.shape[2], x.shape[3]
    yy, xx = pixel_grids(x)
    out = x.clone()
    for i in picked(x.shape[0], probability, r):
        lung = y[i].sum(0) >= 0.5
        if not bool(lung.any()):
            continue
        ys, xs = torch.nonzero(lung, as_tuple=True)
        x0, x1 = float(xs.min()), float(xs.max())
        y0, y1 = float(ys.min()), float(ys.max())
        half_w, half_h = (x1 - x0 + 1) / 2, (y1 - y0 + 1) / 2
        cx = (x0 + x1) / 2 + (float(r(1)) * 2 - 1) * 0.05 * half_w
        cy = (y0 + y1) / 2 + float(r(1)) * 0.25 * half_h
        ax = half_w * (1.05 + float(r(1)) * 0.40)
        ay = half_h * (1.10 + float(r(1)) * 0.60)
        angle = torch.atan2(yy - cy, xx - cx)
        wobble = 1 + 0.04 * torch.sin(angle * float(2 + torch.randint(0, 4, (1,), generator=g)) + float(r(1)) * 6.283)
        d = torch.sqrt(((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2) / wobble
        soft = 1 + float(r(1)) * 3
        outside = torch.sigmoid((d - 1) * min(ax, ay) / soft)
        if float(r(1)) < 0.5:
            level = y0 + (0.15 + float(r(1)) * 0.6) * (y1 - y0)
            outside = outside * torch.sigmoid((yy - level) / soft)
        wall = int(4 + float(r(1)) * 10) * 2 + 1
        near_lung = F.max_pool2d(lung.float().view(1, 1, h, w), wall, 1, wall // 2).view(h, w)
        near_lung = F.avg_pool2d(near_lung.view(1, 1, h, w), 5, 1, 2, count_include_pad=False).view(h, w)
        air_weight = outside * (1 - near_lung)
        lung_grey = float(x[i, 0][lung].mean())
        base = lung_grey * 0.8 * float(r(1)) ** 2  # median 0.2 x the lungs' grey; site air is 0.02-0.25 x
        gradient = ((xx - w / 2) * (float(r(1)) * 2 - 1) + (yy - h / 2) * (float(r(1)) * 2 - 1)) / w * 0.08
        air = (base + gradient + torch.randn(h, w, generator=g) * float(r(1)) * 0.02).clamp(0, 1)
        out[i, 0] = x[i, 0] * (1 - air_weight) + air * air_weight
    return out


def opacity_in_lung(x, y, g, probability=0.3):
    """A lung whitened by disease is still a lung: pneumonia, effusion and collapse make part or
    all of a lung as bright as soft tissue, and these are exactly the images a pneumonia reader
    must not refuse. The training images are COVID-19 cases with mostly mild opacities; a lung
    model trained only on them found no right lung on several site images with a whitened right
    lung (measured on cxr-site-nih while testing air_beside_body). For 30% of the images this
    whitens part of one lung towards the image's soft-tissue grey (its 85th percentile): either a
    consolidation (a Gaussian blob of sd 8-40 grid pixels at a random lung pixel) or an effusion
    (rising from the lung's base to a random level, with a soft meniscus), at 40-100% strength,
    spilling a little past the lung edge as real opacities do. Masks unchanged."""
    r = lambda *s: torch.rand(*s, generator=g)
    h, w = x.shape[2], x.shape[3]
    yy, xx = pixel_grids(x)
    out = x.clone()
    for i in picked(x.shape[0], probability, r):
        c = int(torch.randint(0, 2, (1,), generator=g))
        lung = y[i, c] >= 0.5
        if not bool(lung.any()):
            continue
        ys, xs = torch.nonzero(lung, as_tuple=True)
        region = F.avg_pool2d(F.max_pool2d(y[i, c].view(1, 1, h, w), 7, 1, 3), 7, 1, 3, count_include_pad=False).view(h, w)
        if float(r(1)) < 0.5:
            k = int(torch.randint(0, len(ys), (1,), generator=g))
            sd = 8 + float(r(1)) * 32
            shape = torch.exp(-((xx - float(xs[k])) ** 2 + (yy - float(ys[k])) ** 2) / (2 * sd * sd))
        else:
            y0, y1 = float(ys.min()), float(ys.max())
            level = y1 - (0.15 + float(r(1)) * 0.85) * (y1 - y0)
            shape = torch.sigmoid((yy - level) / (2 + float(r(1)) * 6))
        weight = (0.4 + float(r(1)) * 0.6) * shape * region
        target = float(torch.quantile(x[i, 0].flatten(), 0.85))
        out[i, 0] = x[i, 0] * (1 - weight) + target * weight
    return out


def augment(x, y, g, air=False, opacity=False):
    """x: [n,1,256,256] display values in [0,1]; y: [n,2,256,256] soft masks.
    Optionally first (lungs.py --air, --opacity; ADR 0165): air beside the body for 60% of the
    images (air_beside_body), then a whitened part of one lung for 30% (opacity_in_lung).
    Geometry (same for image and masks): rotation +-10 deg, isotropic scale 0.8-1.2 (zoom-in =
    crop, zoom-out = the chest smaller inside a black or edge-extended frame), anisotropic
    stretch +-12% (images of other aspect ratios stretched to a square), shift +-8%.
    Grey values (image only): a random window (simulates another 12-bit -> display VOI), gamma,
    contrast, brightness +-10%, optional sigmoid LUT, blur or noise, coarse quantisation."""
    n = x.shape[0]
    r = lambda *s: torch.rand(*s, generator=g)
    if air:
        x = air_beside_body(x, y, g)
    if opacity:
        x = opacity_in_lung(x, y, g)
    angle = (r(n) * 2 - 1) * math.radians(10)
    scale = 0.8 + r(n) * 0.4
    aniso = torch.exp((r(n) * 2 - 1) * 0.12)
    sx, sy = 1 / (scale * aniso), 1 / (scale / aniso)
    shift = (r(n, 2) * 2 - 1) * 0.08
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([torch.stack([cos * sx, -sin * sx, shift[:, 0]], 1),
                         torch.stack([sin * sy, cos * sy, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    xb = F.grid_sample(x, grid, padding_mode='border', align_corners=False)
    xz = F.grid_sample(x, grid, padding_mode='zeros', align_corners=False)
    use_zero = (r(n, 1, 1, 1) < 0.5).float()
    x = use_zero * xz + (1 - use_zero) * xb
    y = F.grid_sample(y, grid, padding_mode='zeros', align_corners=False)
    # window / level (another VOI LUT applied to the raw data)
    lo = r(n, 1, 1, 1) * 0.15
    hi = 1 - r(n, 1, 1, 1) * 0.15
    widen = (r(n, 1, 1, 1) < 0.3).float()  # sometimes a wider window: flatter image
    lo = lo - widen * r(n, 1, 1, 1) * 0.25
    hi = hi + widen * r(n, 1, 1, 1) * 0.25
    x = ((x - lo) / (hi - lo)).clamp(0, 1)
    sig = (r(n, 1, 1, 1) < 0.3).float()
    k = 4 + r(n, 1, 1, 1) * 6
    s = torch.sigmoid((x - 0.5) * k)
    s = (s - torch.sigmoid(-0.5 * k)) / (torch.sigmoid(0.5 * k) - torch.sigmoid(-0.5 * k))
    x = sig * s + (1 - sig) * x
    gamma = torch.exp((r(n, 1, 1, 1) * 2 - 1) * 0.4)
    x = x.clamp(1e-6, 1) ** gamma
    contrast = 0.8 + r(n, 1, 1, 1) * 0.4
    brightness = (r(n, 1, 1, 1) * 2 - 1) * 0.1
    x = (x - 0.5) * contrast + 0.5 + brightness
    blur = (r(n, 1, 1, 1) < 0.25).float()
    x = blur * F.avg_pool2d(x, 3, 1, 1, count_include_pad=False) + (1 - blur) * x
    noise = (r(n, 1, 1, 1) < 0.3).float() * r(n, 1, 1, 1) * 0.03
    x = x + noise * torch.randn(x.shape, generator=g)
    x = x.clamp(0, 1)
    levels = torch.where(r(n, 1, 1, 1) < 0.2, torch.full((n, 1, 1, 1), 63.0), torch.full((n, 1, 1, 1), 255.0))
    x = torch.round(x * levels) / levels
    return x, y


# --------------------------------------------------------------------------- data, metrics

def load_rows(data_dir, rows):
    planes, targets, natives = [], [], []
    for row in rows:
        img = cxrlib.load_grey(os.path.join(data_dir, row['image']))
        right = cxrlib.load_grey(os.path.join(data_dir, row['mask_right']))
        left = cxrlib.load_grey(os.path.join(data_dir, row['mask_left']))
        planes.append(cxrlib.resize_area(img, LUNG_SIZE, LUNG_SIZE))
        targets.append(np.stack([cxrlib.resize_area(right, LUNG_SIZE, LUNG_SIZE),
                                 cxrlib.resize_area(left, LUNG_SIZE, LUNG_SIZE)]))
        natives.append((right >= 0.5, left >= 0.5))
    return np.stack(planes), np.stack(targets).astype(np.float32), natives


def predict(net, planes, batch_size=16):
    net.eval()
    out = []
    with torch.no_grad():
        for s in range(0, len(planes), batch_size):
            x = torch.from_numpy(planes[s:s + batch_size]).unsqueeze(1)
            out.append(torch.sigmoid(net((x - LUNG_MEAN) / LUNG_STD)).numpy())
    return np.concatenate(out)


def dice(a, b):
    s = int(a.sum()) + int(b.sum())
    return 1.0 if s == 0 else 2 * int((a & b).sum()) / s


def evaluate(probs, natives, names):
    """Dice at the source resolution: probabilities resampled to the image size with the area
    resize (bilinear enlargement), >= 0.5. 'raw': every pixel over threshold; 'largest': only
    each lung's largest 4-connected component at 256 x 256 (what the lung-field rule keeps),
    then resampled."""
    per = []
    for p, (gr, gl), name in zip(probs, natives, names):
        h, w = gr.shape
        rec = {'image': name}
        for mode in ('raw', 'largest'):
            q = p
            if mode == 'largest':
                q = np.stack([p[c] * cxrlib.keep_largest(p[c] >= 0.5) for c in range(2)]).astype(np.float32)
            pr = cxrlib.resize_area(q[0], w, h) >= 0.5
            pl = cxrlib.resize_area(q[1], w, h) >= 0.5
            rec[mode] = {'merged': dice(pr | pl, gr | gl), 'right': dice(pr, gr), 'left': dice(pl, gl)}
        per.append(rec)
    summary = {}
    for mode in ('raw', 'largest'):
        summary[mode] = {}
        for key in ('merged', 'right', 'left'):
            v = np.array([r[mode][key] for r in per])
            summary[mode][key] = {'mean': float(v.mean()), 'median': float(np.median(v)),
                                  'min': float(v.min()), 'p10': float(np.percentile(v, 10)),
                                  'max': float(v.max()), 'n': int(len(v))}
    return summary, per


EDGE_CELLS = 2      # a field whose box comes within this many grid cells of the image edge "reaches the edge"
BOX_MOVED = 0.05   # a crop box side moving by more than 5% of the box's size counts as moved


def site_fields(net, site_dir):
    """The lung field (LUNG_FIELD.md, cxrlib.lung_field) of every image of a site folder without
    masks (cxr-site-nih), whole and with floor(2%) cut off each side as the robustness report
    does. Measures what ADR 0162 found: the share of plausible fields whose box reaches within
    EDGE_CELLS of the image edge (a lung component running into the air beside the body), and
    how far the crop box moves when 2% is cut off (mapped back into the whole image's pixels)."""
    rows = list(csv.DictReader(open(os.path.join(site_dir, 'labels.csv'))))
    per = []
    for s in range(0, len(rows), 32):
        batch = rows[s:s + 32]
        whole = [cxrlib.load_grey(os.path.join(site_dir, r['image'])) for r in batch]
        cropped = []
        for im in whole:
            h, w = im.shape
            dx, dy = math.floor(0.02 * w), math.floor(0.02 * h)
            cropped.append((im[dy:h - dy, dx:w - dx], dx, dy))
        p_whole = predict(net, np.stack([cxrlib.resize_area(im, LUNG_SIZE, LUNG_SIZE) for im in whole]))
        p_crop = predict(net, np.stack([cxrlib.resize_area(c, LUNG_SIZE, LUNG_SIZE) for c, _, _ in cropped]))
        for r, im, pw, (c, dx, dy), pc in zip(batch, whole, p_whole, cropped, p_crop):
            h, w = im.shape
            fw = cxrlib.lung_field(pw, w, h)
            fc = cxrlib.lung_field(pc, c.shape[1], c.shape[0])
            rec = {'image': os.path.basename(r['image']), 'plausible': fw['plausible'],
                   'plausible_cropped': fc['plausible'], 'box256': fw.get('box256')}
            if fw.get('box256') is not None:
                x0, y0, x1, y1 = fw['box256']
                rec['reaches_edge'] = min(x0, y0, LUNG_SIZE - 1 - x1, LUNG_SIZE - 1 - y1) <= EDGE_CELLS
            if fw['box'] is not None and fc['box'] is not None:
                l, t, rr, b = fw['box']
                moved = [fc['box'][0] + dx - l, fc['box'][1] + dy - t, fc['box'][2] + dx - rr, fc['box'][3] + dy - b]
                size = [rr - l, b - t, rr - l, b - t]
                rec['crop_box_shift'] = max(abs(m) / z for m, z in zip(moved, size))
            per.append(rec)
    plausible = [p for p in per if p['plausible']]
    both = [p for p in per if p['plausible'] and p['plausible_cropped'] and 'crop_box_shift' in p]
    shifts = np.array([p['crop_box_shift'] for p in both]) if both else np.zeros(0)
    summary = {
        'images': len(per),
        'plausible': len(plausible),
        'plausible_reaching_edge': sum(1 for p in plausible if p.get('reaches_edge')),
        'plausible_after_crop_2pct': sum(1 for p in per if p['plausible_cropped']),
        'verdict_changed_by_crop_2pct': sum(1 for p in per if p['plausible'] != p['plausible_cropped']),
        'crop_box_shift': {'n': len(both), 'mean': float(shifts.mean()) if len(shifts) else None,
                           'median': float(np.median(shifts)) if len(shifts) else None,
                           'p90': float(np.percentile(shifts, 90)) if len(shifts) else None,
                           'moved_over_5pct': int((shifts > BOX_MOVED).sum())},
        'rule': f'lung field per LUNG_FIELD.md on each whole image and on it with floor(0.02 W), floor(0.02 H) px cut off each side; reaches_edge: the field box256 within {EDGE_CELLS} grid cells of any image edge; crop_box_shift: the largest move of a crop-box side (cropped image box mapped back by the cut) over the whole image box width (left, right) or height (top, bottom), for images plausible both ways; moved_over_5pct counts shifts > {BOX_MOVED}',
    }
    return summary, per


def soft_dice_loss(logits, target):
    p = torch.sigmoid(logits)
    inter = (p * target).sum(dim=(2, 3))
    denom = p.sum(dim=(2, 3)) + target.sum(dim=(2, 3))
    return (1 - (2 * inter + 1) / (denom + 1)).mean()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', required=True)
    parser.add_argument('--out', required=True)
    parser.add_argument('--epochs', type=int, default=100)
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--lr', type=float, default=3e-3)
    parser.add_argument('--weight-decay', type=float, default=1e-4)
    parser.add_argument('--seed', type=int, default=1, help='the patient split (and, unless --train-seed, the training randomness)')
    parser.add_argument('--train-seed', type=int, default=None,
                        help='weights initialisation, batch order and augmentation only; the split stays --seed\'s')
    parser.add_argument('--eval-every', type=int, default=5)
    parser.add_argument('--limit', type=int, default=0, help='use only N permissive images (CI smoke run)')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--site', help='a site folder without masks (labels.csv + images, e.g. cxr-site-nih): '
                        'measure its lung fields (edge reach, 2%% crop) with the chosen epoch')
    # Off by default, so that the plain command reproduces the shipped 1.0.0 bit for bit; ADR 0165
    # says what each did to Dice and to the site lung fields over several training seeds.
    parser.add_argument('--air', action='store_true', help='add the air-beside-the-body augmentation (air_beside_body)')
    parser.add_argument('--opacity', action='store_true', help='add the whitened-lung augmentation (opacity_in_lung)')
    args = parser.parse_args()

    train_seed = args.seed if args.train_seed is None else args.train_seed
    random.seed(train_seed)
    np.random.seed(train_seed)
    torch.manual_seed(train_seed)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    started = time.time()

    all_rows = list(csv.DictReader(open(os.path.join(args.data, 'labels.csv'))))
    rows = [r for r in all_rows if r['permissive'] == '1']
    external = [r for r in all_rows if r['permissive'] != '1']
    if args.limit:
        rows = sorted(rows, key=lambda r: cxrlib.patient_key(r['image'], 0))[:args.limit]
        external = external[:min(len(external), 4)]
    version = cxrlib.dataset_version(args.data, rows, ('image', 'mask_right', 'mask_left'))
    # One stratum (every image is COVID-19): the HMAC rule of src/finetune/patientSplit.ts
    # with truth 0 for all, seed 1, 60/20/20 of patients.
    assignment = cxrlib.split_by_patient([(r['patient_id'], 0) for r in rows], args.seed)
    for r in rows:
        r['split'] = assignment[r['patient_id']]
    idx = {s: np.array([i for i, r in enumerate(rows) if r['split'] == s], dtype=int)
           for s in ('train', 'tuning', 'test')}
    counts = {s: {'images': int(len(i)), 'patients': len({rows[k]['patient_id'] for k in i})}
              for s, i in idx.items()}
    print(f'dataset {version}: {len(rows)} permissive images; splits {json.dumps(counts)}', flush=True)

    planes, targets, natives = load_rows(args.data, rows)
    ext_planes, _, ext_natives = load_rows(args.data, external)
    print(f'loaded in {time.time() - started:.1f} s', flush=True)

    net = LungUNet()
    optimiser = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps = max(1, math.ceil(len(idx['train']) / args.batch_size))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=args.lr, epochs=args.epochs,
                                                    steps_per_epoch=steps, pct_start=0.15)
    g = torch.Generator().manual_seed(train_seed)
    history, best = [], (-1.0, None, 0)
    for epoch in range(1, args.epochs + 1):
        net.train()
        order = idx['train'][torch.randperm(len(idx['train']), generator=g).numpy()]
        total, seen = 0.0, 0
        for s in range(0, len(order), args.batch_size):
            b = order[s:s + args.batch_size]
            if len(b) < 2:
                continue  # BatchNorm needs two samples
            x, y = augment(torch.from_numpy(planes[b]).unsqueeze(1), torch.from_numpy(targets[b]), g,
                           air=args.air, opacity=args.opacity)
            logits = net((x - LUNG_MEAN) / LUNG_STD)
            loss = F.binary_cross_entropy_with_logits(logits, y) + soft_dice_loss(logits, y)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            scheduler.step()
            total += float(loss) * len(b)
            seen += len(b)
        record = {'epoch': epoch, 'train_loss': total / max(1, seen), 'seconds': round(time.time() - started, 1)}
        if epoch % args.eval_every == 0 or epoch == args.epochs:
            tp = predict(net, planes[idx['tuning']])
            tt = targets[idx['tuning']] >= 0.5
            pb = tp >= 0.5
            d = [dice(pb[i, 0] | pb[i, 1], tt[i, 0] | tt[i, 1]) for i in range(len(tp))]
            record['tuning_dice_merged_256'] = float(np.mean(d))
            if record['tuning_dice_merged_256'] > best[0]:
                best = (record['tuning_dice_merged_256'], {k: v.clone() for k, v in net.state_dict().items()}, epoch)
        history.append(record)
        print(json.dumps(record), flush=True)
    net.load_state_dict(best[1])
    net.eval()
    train_seconds = round(time.time() - started, 1)

    results = {}
    per_image = {}
    for name, sel in (('tuning', idx['tuning']), ('test', idx['test'])):
        probs = predict(net, planes[sel])
        results[name], per_image[name] = evaluate(probs, [natives[i] for i in sel], [rows[i]['image'] for i in sel])
    if len(external):
        probs = predict(net, ext_planes)
        results['external_nonpermissive'], per_image['external_nonpermissive'] = evaluate(
            probs, ext_natives, [r['image'] for r in external])
    print('dice', json.dumps(results, indent=1), flush=True)
    site = None
    if args.site:
        site, site_per_image = site_fields(net, args.site)
        print('site lung fields', json.dumps(site, indent=1), flush=True)

    onnx_path = os.path.join(args.out, 'cxr-lungs.onnx')
    torch.onnx.export(ExportWrapper(net), torch.zeros(1, 1, LUNG_SIZE, LUNG_SIZE), onnx_path,
                      input_names=['image'], output_names=['lungs'],
                      dynamic_axes={'image': {0: 'n'}, 'lungs': {0: 'n'}},
                      opset_version=13, do_constant_folding=True)
    torch.save(net.state_dict(), os.path.join(args.out, 'cxr-lungs.pt'))
    run = {
        'recipe': 'training/lungs.py',
        'model': 'cxr-lungs',
        'parameters': vars(args) | {
            'input_size': LUNG_SIZE, 'architecture': 'LungUNet(8,24,48,96,128): stride-2 stem, U-Net 128..8, 1x1 out, bilinear x2',
            'parameters_count': int(sum(p.numel() for p in net.parameters())),
            'normalisation': {'mean': LUNG_MEAN, 'std': LUNG_STD, 'of': 'grey in [0,1] after the area resize'},
            'loss': 'BCE + soft Dice, per channel, soft 256x256 targets (masks area-resized)',
            'optimiser': 'AdamW + OneCycle', 'best_epoch': best[2],
            'epoch_choice': 'highest mean merged Dice (256x256, >=0.5) on the tuning split, every eval_every epochs',
            'augmentation': 'rotation, scale/crop, anisotropic stretch, shift, black or edge frames, window/level, sigmoid LUT, gamma, contrast, brightness, blur, noise, 6-bit quantisation' + ('; air beside the body (air_beside_body, p 0.6)' if args.air else '') + ('; a whitened part of one lung (opacity_in_lung, p 0.3)' if args.opacity else '')},
        'dataset': {'path': os.path.basename(os.path.abspath(args.data)), 'version': version,
                    'rows': 'permissive == 1 only', 'version_rule': 'sha256 of labels.csv, then for each row sorted by image: image name, sha256(image), mask_right name, sha256, mask_left name, sha256'},
        'external_test': {'rows': 'permissive == 0 (measurement only, never trained or tuned on)', 'images': len(external),
                          'patients': len({r['patient_id'] for r in external})},
        'splits': counts,
        'split_rule': f'one stratum; patients ordered by HMAC-SHA256(key "radiolens-split:{args.seed}", patient_id); first 60% -> train, next 20% -> tuning, rest -> test (JS Math.round); = src/finetune/patientSplit.ts with truth 0',
        'split_images': {s: [rows[i]['image'] for i in idx[s]] for s in idx},
        'mask_convention': 'V7 Labs: lungs include most of the heart (the part of the lungs behind it) and reach down to the extent of the diaphragm; not the Montgomery/JSRT convention',
        'output': {'name': 'lungs', 'shape': ['n', 2, LUNG_SIZE, LUNG_SIZE], 'activation': 'sigmoid (applied inside the graph)',
                   'channels': ['patient right lung (image left)', 'patient left lung (image right)']},
        'history': history,
        'dice': results,
        'dice_rule': 'at source resolution: probabilities area-resized (bilinear enlargement, half-pixel centres) to the image size, >= 0.5; vs the dataset masks >= 128',
        'dice_per_image': per_image,
        'site_lung_fields': None if site is None else {
            'folder': os.path.basename(os.path.abspath(args.site)), **site, 'per_image': site_per_image},
        'train_seconds': train_seconds,
        'torch_version': torch.__version__,
        'artefacts': {'cxr-lungs.onnx': cxrlib.sha256_file(onnx_path)},
        'seconds': round(time.time() - started, 1),
    }
    with open(os.path.join(args.out, 'training-run.json'), 'w') as f:
        json.dump(run, f, indent=1)
    print(f'wrote {onnx_path} and training-run.json in {run["seconds"]} s', flush=True)


if __name__ == '__main__':
    main()
