#!/usr/bin/env python3
"""Radiolens chest-radiograph pneumonia model: the project's reproducible training recipe.

Trains a compact CNN whose head is global-average-pooling + one linear layer (so Radiolens
can compute exact Grad-CAM from the feature map and fine-tune the head locally), on the
paediatric radiographs of ../shared/data/cxr-train-kermany, split by patient. Exports ONNX
with two outputs, `scores` (sigmoid probability) and `features` (the last feature map), and
a run record with parameters, per-epoch metrics, dataset version, splits and shortcut checks.

This is the only Python in Radiolens: training is where the field's tools are. Everything
that runs in a hospital is TypeScript and reads only the exported ONNX.

Usage: python3 training/train.py --data ../shared/data/cxr-train-kermany --out build/train
       [--epochs 12] [--limit N] [--seed 7]
"""
import argparse
import csv
import hashlib
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

INPUT_SIZE = 224


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def dataset_version(data_dir, rows):
    """Content hash of labels.csv and every image used: names the exact data trained on."""
    h = hashlib.sha256()
    h.update(open(os.path.join(data_dir, 'labels.csv'), 'rb').read())
    for row in sorted(rows, key=lambda r: r['image']):
        h.update(row['image'].encode())
        h.update(sha256_file(os.path.join(data_dir, row['image'])).encode())
    return 'sha256:' + h.hexdigest()


def patient_split(patient_id, seed):
    """Deterministic split by patient: no patient's images are in two splits."""
    bucket = int(hashlib.sha256(f'{seed}:{patient_id}'.encode()).hexdigest(), 16) % 100
    return 'train' if bucket < 80 else ('tune' if bucket < 90 else 'test')


def load_image(path):
    """Greyscale, stretched to the model input with area averaging (PIL BOX), as Radiolens'
    TypeScript pipeline does (imaging/resizeArea), scaled to [0, 1]."""
    image = Image.open(path).convert('L').resize((INPUT_SIZE, INPUT_SIZE), Image.BOX)
    return np.asarray(image, dtype=np.uint8)


class CompactCxrNet(nn.Module):
    """Five stride-2 stages (224 -> 7), global average pooling, one linear layer."""

    def __init__(self, widths=(24, 32, 64, 128, 256), dropout=0.2):
        super().__init__()
        layers = []
        channels = 1
        for index, width in enumerate(widths):
            layers += [nn.Conv2d(channels, width, 3, stride=2, padding=1, bias=False),
                       nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            if index > 0:
                layers += [nn.Conv2d(width, width, 3, padding=1, bias=False),
                           nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            channels = width
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(channels, 1)

    def forward(self, x):
        features = self.features(x)
        pooled = features.mean(dim=(2, 3))
        return self.head(self.dropout(pooled)).squeeze(1), features


class ExportWrapper(nn.Module):
    """What the ONNX file computes: probability and the feature map for exact Grad-CAM."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, image):
        features = self.net.features(image)
        pooled = features.mean(dim=(2, 3))
        return torch.sigmoid(self.net.head(pooled)), features


def augment(batch, generator):
    """Augmentation suited to radiographs: small rotation, scale and shift (patient
    positioning), contrast/brightness/gamma (exposure and processing). No flips: anatomy
    is not left-right symmetric. Random zoom also crops borders, where text markers sit."""
    n = batch.shape[0]
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(7)
    scale = 1 / (0.85 + torch.rand(n, generator=generator) * 0.25)
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * 0.06
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1),
                         torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, batch.shape, align_corners=False)
    out = F.grid_sample(batch, grid, padding_mode='border', align_corners=False)
    gamma = torch.exp((torch.rand(n, 1, 1, 1, generator=generator) * 2 - 1) * 0.25)
    contrast = 0.85 + torch.rand(n, 1, 1, 1, generator=generator) * 0.3
    brightness = (torch.rand(n, 1, 1, 1, generator=generator) * 2 - 1) * 0.08
    out = out.clamp(0, 1) ** gamma
    return ((out - 0.5) * contrast + 0.5 + brightness).clamp(0, 1)


def auc(labels, scores):
    """Empirical AUC (Mann-Whitney, ties count half)."""
    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype=np.float64)
    pos, neg = scores[labels == 1], scores[labels == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float('nan')
    order = np.argsort(np.concatenate([pos, neg]), kind='mergesort')
    ranks = np.empty(len(order))
    values = np.concatenate([pos, neg])[order]
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def normalise(x, mean, std):
    return (x - mean) / std


def predict(net, images, mean, std, batch_size=64, transform=None):
    net.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            x = torch.from_numpy(images[start:start + batch_size]).float().unsqueeze(1) / 255
            if transform is not None:
                x = transform(x)
            logits, _ = net(normalise(x, mean, std))
            out.append(torch.sigmoid(logits).numpy())
    return np.concatenate(out) if out else np.zeros(0)


def centre_mask(x, keep_border):
    """Shortcut probes: hide the lungs (keep only a border frame) or hide the border."""
    n, _, h, w = x.shape
    mh, mw = int(h * 0.15), int(w * 0.15)
    mask = torch.zeros(1, 1, h, w)
    mask[:, :, mh:h - mh, mw:w - mw] = 1
    fill = x.mean(dim=(2, 3), keepdim=True)
    if keep_border:
        return x * (1 - mask) + fill * mask
    return x * mask + fill * (1 - mask)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', required=True)
    parser.add_argument('--out', required=True)
    parser.add_argument('--epochs', type=int, default=12)
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--lr', type=float, default=2e-3)
    parser.add_argument('--weight-decay', type=float, default=1e-4)
    parser.add_argument('--seed', type=int, default=7)
    parser.add_argument('--limit', type=int, default=0, help='use only N images (CI smoke run)')
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    started = time.time()

    rows = list(csv.DictReader(open(os.path.join(args.data, 'labels.csv'))))
    if args.limit:
        rows = sorted(rows, key=lambda r: hashlib.sha256(r['image'].encode()).hexdigest())[:args.limit]
    version = dataset_version(args.data, rows)
    for row in rows:
        row['split'] = patient_split(row['patient_id'], args.seed)
    print(f'dataset {version}: {len(rows)} images', flush=True)

    images = np.stack([load_image(os.path.join(args.data, r['image'])) for r in rows])
    labels = np.array([int(r['pneumonia']) for r in rows])
    split = np.array([r['split'] for r in rows])
    idx = {s: np.where(split == s)[0] for s in ('train', 'tune', 'test')}
    counts = {s: {'images': int(len(i)), 'positive': int(labels[i].sum()),
                  'patients': len({rows[k]['patient_id'] for k in i})} for s, i in idx.items()}
    print('splits', json.dumps(counts), flush=True)

    train_pixels = images[idx['train']].astype(np.float64) / 255
    mean, std = float(train_pixels.mean()), float(train_pixels.std())

    net = CompactCxrNet()
    optimiser = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = max(1, math.ceil(len(idx['train']) / args.batch_size))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=args.lr, epochs=args.epochs,
                                                    steps_per_epoch=steps_per_epoch)
    generator = torch.Generator().manual_seed(args.seed)
    pos_weight = torch.tensor((labels[idx['train']] == 0).sum() / max(1, labels[idx['train']].sum()))
    history = []
    best = (-1.0, None)
    for epoch in range(1, args.epochs + 1):
        net.train()
        order = idx['train'][torch.randperm(len(idx['train']), generator=generator).numpy()]
        total, seen = 0.0, 0
        for start in range(0, len(order), args.batch_size):
            batch = order[start:start + args.batch_size]
            x = torch.from_numpy(images[batch]).float().unsqueeze(1) / 255
            x = normalise(augment(x, generator), mean, std)
            y = torch.from_numpy(labels[batch]).float()
            logits, _ = net(x)
            loss = F.binary_cross_entropy_with_logits(logits, y, pos_weight=pos_weight)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            scheduler.step()
            total += float(loss) * len(batch)
            seen += len(batch)
        tune_scores = predict(net, images[idx['tune']], mean, std)
        tune_labels = labels[idx['tune']]
        eps = 1e-7
        tune_loss = float(-np.mean(tune_labels * np.log(tune_scores + eps)
                                   + (1 - tune_labels) * np.log(1 - tune_scores + eps)))
        record = {'epoch': epoch, 'train_loss': total / max(1, seen), 'tune_loss': tune_loss,
                  'tune_auc': auc(tune_labels, tune_scores), 'seconds': round(time.time() - started, 1)}
        history.append(record)
        print(json.dumps(record), flush=True)
        score = record['tune_auc'] if not math.isnan(record['tune_auc']) else -record['tune_loss']
        if score > best[0]:
            best = (score, {k: v.clone() for k, v in net.state_dict().items()}, epoch)
    net.load_state_dict(best[1])
    net.eval()

    test_x, test_y = images[idx['test']], labels[idx['test']]
    test_scores = predict(net, test_x, mean, std)
    sizes = np.array([int(r['original_width']) * int(r['original_height']) for r in rows])
    shortcut = {
        # The sampling keeps size uninformative (SOURCE.md); verify rather than trust it.
        'auc_image_size_only_all': auc(labels, sizes),
        'auc_model_full_test': auc(test_y, test_scores),
        'auc_model_border_only_test': auc(test_y, predict(net, test_x, mean, std,
                                                          transform=lambda x: centre_mask(x, True))),
        'auc_model_centre_only_test': auc(test_y, predict(net, test_x, mean, std,
                                                          transform=lambda x: centre_mask(x, False))),
    }
    print('shortcut checks', json.dumps(shortcut), flush=True)

    onnx_path = os.path.join(args.out, 'model.onnx')
    torch.onnx.export(ExportWrapper(net), torch.zeros(1, 1, INPUT_SIZE, INPUT_SIZE), onnx_path,
                      input_names=['image'], output_names=['scores', 'features'],
                      dynamic_axes={'image': {0: 'n'}, 'scores': {0: 'n'}, 'features': {0: 'n'}},
                      opset_version=13, do_constant_folding=True)
    head = net.head
    run = {
        'recipe': 'training/train.py',
        'parameters': vars(args) | {'input_size': INPUT_SIZE, 'architecture': 'CompactCxrNet(24,32,64,128,256)+GAP+linear',
                                    'normalisation': {'mean': mean, 'std': std}, 'best_epoch': best[2]},
        'dataset': {'path': os.path.basename(os.path.abspath(args.data)), 'version': version},
        'splits': counts,
        'split_rule': f'sha256("{args.seed}:" + patient_id) mod 100: <80 train, <90 tune, else test',
        'test_images': [rows[k]['image'] for k in idx['test']],
        'history': history,
        'test': {'auc': shortcut['auc_model_full_test'], 'labels': test_y.tolist(),
                 'scores': [float(s) for s in test_scores]},
        'shortcut_checks': shortcut,
        'head': {'weight_initializer': 'net.head.weight', 'bias_initializer': 'net.head.bias',
                 'weight_shape': list(head.weight.shape)},
        'artefacts': {'model.onnx': sha256_file(onnx_path)},
        'torch_version': torch.__version__,
        'seconds': round(time.time() - started, 1),
    }
    with open(os.path.join(args.out, 'training-run.json'), 'w') as f:
        json.dump(run, f, indent=2)
    print(f'wrote {onnx_path} and training-run.json in {run["seconds"]} s', flush=True)


if __name__ == '__main__':
    main()
