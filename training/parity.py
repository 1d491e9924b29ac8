#!/usr/bin/env python3
"""Parity data for the TypeScript integration of cxr-lungs + cxr-pneumonia 2.x.

For named NIH site images (some with a radiologist box) it writes every intermediate result
of LUNG_FIELD.md: the lung-model input tensor (+ statistics), the lung probability maps, the
lung-field verdict and crop box in source pixels, the classifier input tensor, the score and
the feature map, and the CAM peak. Also cases where the lung model should make the pipeline
refuse: a Kermany (paediatric) image and synthetic non-chest images.

Tensors are written twice: `<name>.npy` and `<name>.f32` (raw float32 little-endian, C order)
with the shape in the case's `case.json`.

Usage: /usr/bin/python3 training/parity.py --lungs build/lungs/cxr-lungs.pt
       --pneumonia build/pneu/cxr-pneumonia-2.0.0.pt --record build/pneu/training-run.json
       --out build/parity
Lungs only (before a 2.x classifier exists): leave out --pneumonia and --record; the site
test split then comes from --splits (default models/cxr-pneumonia/1.2.0/splits.json, the
split 2.x is evaluated on) and the classifier tensors are not written.
"""
import argparse
import csv
import hashlib
import json
import os

import numpy as np
import torch

import cxrlib
from pneumonia_v2 import LungFieldNet, LungModel, cam_peaks, norm

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, '..', '..', '..', 'shared', 'data')


def write_tensor(folder, name, array, meta):
    a = np.ascontiguousarray(array.astype('<f4'))
    np.save(os.path.join(folder, name + '.npy'), a)
    a.tofile(os.path.join(folder, name + '.f32'))
    meta['tensors'][name] = {'shape': list(a.shape), 'dtype': 'float32 little-endian', 'files': [name + '.npy', name + '.f32'],
                             'sha256_f32': hashlib.sha256(a.tobytes()).hexdigest(),
                             'mean': float(a.astype(np.float64).mean()), 'std': float(a.astype(np.float64).std()),
                             'min': float(a.min()), 'max': float(a.max())}


def run_case(name, image, lung, net, threshold, out, extra):
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    h, w = image.shape
    meta = {'case': name, 'source_size': {'width': w, 'height': h}, 'tensors': {}} | extra
    lung_x = cxrlib.lung_input(image)[None, None]
    write_tensor(folder, 'lung_input', lung_x, meta)
    probs = lung.probs(cxrlib.resize_area(image, 256, 256)[None])[0]
    write_tensor(folder, 'lungs', probs[None], meta)
    field = cxrlib.lung_field(probs, w, h)
    meta['lung_field'] = field
    mask = cxrlib.lung_mask_source(probs, w, h)
    meta['lung_mask_source_fraction'] = float(mask.mean())
    if field['plausible'] and net is not None:
        box = field['box']
        plane = cxrlib.classifier_plane(image, box)
        x = cxrlib.normalise_cls(plane)[None, None]
        write_tensor(folder, 'classifier_input', x, meta)
        with torch.no_grad():
            features = net.features(torch.from_numpy(x))
            score = torch.sigmoid(net.head(features.mean(dim=(2, 3)))).numpy()[0, 0]
        write_tensor(folder, 'features', features.numpy(), meta)
        peak = cam_peaks(features.numpy().astype(np.float64), net.head.weight.detach().numpy()[0].astype(np.float64), [box])[0]
        meta['score'] = float(score)
        meta['threshold'] = threshold
        meta['positive_at_threshold'] = bool(score >= threshold)
        meta['cam_peak_source'] = peak
    else:
        meta['score'] = None
        meta['refused'] = True
    with open(os.path.join(folder, 'case.json'), 'w') as f:
        json.dump(meta, f, indent=1)
    return meta


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--lungs', required=True)
    ap.add_argument('--pneumonia', help='cxr-pneumonia 2.x weights (.pt); absent: lung-model parity only')
    ap.add_argument('--record', help='its training-run.json (threshold, test split); needed with --pneumonia')
    ap.add_argument('--splits', default=os.path.join(HERE, '..', 'models', 'cxr-pneumonia', '1.2.0', 'splits.json'),
                    help='site split to take the test images from when no --record is given')
    ap.add_argument('--out', required=True)
    ap.add_argument('--site', default=os.path.join(SHARED, 'cxr-site-nih'))
    ap.add_argument('--kermany', default=os.path.join(SHARED, 'cxr-train-kermany'))
    args = ap.parse_args()
    torch.set_num_threads(2)
    os.makedirs(args.out, exist_ok=True)
    lung = LungModel(args.lungs)
    if args.pneumonia is not None:
        if args.record is None:
            ap.error('--pneumonia needs --record (the threshold and the test split)')
        net = LungFieldNet()
        net.load_state_dict(torch.load(args.pneumonia))
        net.eval()
        record = json.load(open(args.record))
        threshold = record['evaluation']['threshold']
        test = set(record['test']['images'])
    else:
        net, threshold = None, None
        test = set(json.load(open(args.splits))['images']['test'])
    labels = {r['image']: r for r in csv.DictReader(open(os.path.join(args.site, 'labels.csv')))}
    boxes = {r['image']: r for r in csv.DictReader(open(os.path.join(args.site, 'boxes.csv')))}
    # three boxed images and three others, all from the site test split where possible
    boxed = [n for n in sorted(boxes) if n in test][:3]
    others = [n for n in sorted(test) if n not in boxes]
    others = [n for n in others if labels[n]['pneumonia'] == '0'][:2] + [n for n in others if labels[n]['pneumonia'] == '1'][:1]
    summary = []
    for n in boxed + others:
        image = cxrlib.load_grey(os.path.join(args.site, n))
        extra = {'dataset': 'cxr-site-nih', 'image': n, 'pneumonia': int(labels[n]['pneumonia']),
                 'site_split': 'test' if n in test else 'other', 'box': boxes.get(n)}
        m = run_case('nih_' + os.path.splitext(os.path.basename(n))[0], image, lung, net, threshold, args.out, extra)
        summary.append({k: m.get(k) for k in ('case', 'image', 'pneumonia', 'score', 'positive_at_threshold')} |
                       {'box': m['lung_field']['box'], 'plausible': m['lung_field']['plausible']})
    # should-refuse cases
    krows = list(csv.DictReader(open(os.path.join(args.kermany, 'labels.csv'))))
    kname = sorted(krows, key=lambda r: r['image'])[0]['image']
    refuse = [('kermany_child_' + os.path.splitext(os.path.basename(kname))[0],
               cxrlib.load_grey(os.path.join(args.kermany, kname)), {'dataset': 'cxr-train-kermany', 'image': kname})]
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:384, 0:512] / np.array([384.0, 512.0])[:, None, None]
    shapes = 0.2 + 0.3 * xx
    for cx, cy, r, v in ((0.3, 0.4, 0.15, 0.9), (0.7, 0.6, 0.2, 0.6), (0.5, 0.2, 0.08, 0.1)):
        shapes = np.where((xx - cx) ** 2 + ((yy - cy) * 0.75) ** 2 < r * r, v, shapes)
    shapes = np.clip(shapes + rng.normal(0, 0.02, shapes.shape), 0, 1).astype(np.float32)
    refuse.append(('synthetic_shapes', shapes, {'dataset': 'synthetic', 'image': 'gradient + three ellipses + noise, 512x384'}))
    refuse.append(('synthetic_uniform_grey', np.full((512, 512), 0.5, np.float32), {'dataset': 'synthetic', 'image': 'uniform 0.5, 512x512'}))
    nih0 = cxrlib.load_grey(os.path.join(args.site, others[0]))
    refuse.append(('synthetic_rotated90_' + os.path.splitext(os.path.basename(others[0]))[0], np.ascontiguousarray(np.rot90(nih0)),
                   {'dataset': 'synthetic', 'image': others[0] + ' rotated 90 degrees counter-clockwise'}))
    refuse.append(('synthetic_mirrored_' + os.path.splitext(os.path.basename(others[0]))[0], np.ascontiguousarray(nih0[:, ::-1]),
                   {'dataset': 'synthetic', 'image': others[0] + ' mirrored left-right (situs / flipped film)'}))
    refuse.append(('synthetic_inverted_' + os.path.splitext(os.path.basename(others[0]))[0], (1 - nih0).astype(np.float32),
                   {'dataset': 'synthetic', 'image': others[0] + ' grey-inverted (MONOCHROME1 shown without inversion)'}))
    refuse.append(('synthetic_uniform_noise', rng.random((512, 512)).astype(np.float32),
                   {'dataset': 'synthetic', 'image': 'uniform random noise in [0,1), 512x512, numpy default_rng(0) after the ellipses noise'}))
    for name, image, extra in refuse:
        m = run_case(name, image, lung, None, threshold, args.out, extra)
        summary.append({'case': name, 'plausible': m['lung_field']['plausible'], 'reasons': m['lung_field']['reasons'],
                        'lungs': {k: {q: v[q] for q in ('area_fraction', 'confidence', 'centroid_x')}
                                  for k, v in m['lung_field']['lungs'].items()}})
    index = {'procedure': 'training/LUNG_FIELD.md', 'threshold': threshold,
             'lung_model_sha256': cxrlib.sha256_file(args.lungs),
             'pneumonia_pt_sha256': cxrlib.sha256_file(args.pneumonia) if args.pneumonia else None,
             'cases': summary}
    with open(os.path.join(args.out, 'index.json'), 'w') as f:
        json.dump(index, f, indent=1)
    print(json.dumps(index, indent=1))


if __name__ == '__main__':
    main()
