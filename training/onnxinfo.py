"""Minimal ONNX reader (no `onnx` package on this machine): graph inputs, outputs and
initializers (name, dims, float32 values) straight from the protobuf wire format."""
import struct

import numpy as np


def _varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, i
        shift += 7


def _fields(buf):
    i, n = 0, len(buf)
    while i < n:
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            length, i = _varint(buf, i)
            value, i = buf[i:i + length], i + length
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f'unsupported wire type {wire}')
        yield field, wire, value


def _tensor(buf):
    dims, name, raw, floats, dtype = [], '', None, [], None
    for f, w, v in _fields(buf):
        if f == 1:
            if w == 2:
                j = 0
                while j < len(v):
                    d, j = _varint(v, j)
                    dims.append(d)
            else:
                dims.append(v)
        elif f == 2:
            dtype = v
        elif f == 8:
            name = bytes(v).decode()
        elif f == 9:
            raw = bytes(v)
        elif f == 4 and w == 2:
            floats = list(struct.unpack(f'<{len(v) // 4}f', v))
    values = None
    if dtype == 1:
        values = np.frombuffer(raw, '<f4').reshape(dims) if raw is not None else np.array(floats, np.float32).reshape(dims)
    return name, dims, dtype, values


def _value_info_name(buf):
    for f, _, v in _fields(buf):
        if f == 1:
            return bytes(v).decode()
    return ''


def read(path):
    data = memoryview(open(path, 'rb').read())
    graph, opset = None, []
    for f, _, v in _fields(data):
        if f == 7:
            graph = v
        elif f == 8:
            for g, _, u in _fields(v):
                if g == 2:
                    opset.append(u)
    info = {'inputs': [], 'outputs': [], 'initializers': {}, 'ops': {}, 'opset': opset}
    for f, _, v in _fields(graph):
        if f == 5:
            name, dims, dtype, values = _tensor(v)
            info['initializers'][name] = {'dims': dims, 'dtype': dtype, 'values': values}
        elif f == 11:
            info['inputs'].append(_value_info_name(v))
        elif f == 12:
            info['outputs'].append(_value_info_name(v))
        elif f == 1:
            for g, _, u in _fields(v):
                if g == 4:
                    op = bytes(u).decode()
                    info['ops'][op] = info['ops'].get(op, 0) + 1
    info['inputs'] = [n for n in info['inputs'] if n not in info['initializers']]
    return info
