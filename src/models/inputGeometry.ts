/**
 * How an image is fitted into a model input whose manifest says resize: 'letterbox'. This is
 * part of the package contract, not of any one caller: preprocessing must place the image with
 * this geometry, and explanation must map heatmaps back with the same one, or the heatmap
 * lands beside the pixels the model saw.
 */

/**
 * Where the original image sits inside a letterboxed model input, in model-input pixels.
 * The rest of the input is padding and maps to no image pixel.
 */
export interface LetterboxGeometry {
  inputWidth: number;
  inputHeight: number;
  contentX: number;
  contentY: number;
  contentWidth: number;
  contentHeight: number;
}

/**
 * The letterbox convention: scale the image uniformly to fit the input, round its size,
 * centre it (extra padding pixel at the bottom/right). Preprocessing and explanation must use
 * this same function so the heatmap lands on the pixels the model saw.
 */
export function letterboxGeometry(
  imageWidth: number,
  imageHeight: number,
  inputWidth: number,
  inputHeight: number,
): LetterboxGeometry {
  const scale = Math.min(inputWidth / imageWidth, inputHeight / imageHeight);
  const contentWidth = Math.max(1, Math.min(inputWidth, Math.round(imageWidth * scale)));
  const contentHeight = Math.max(1, Math.min(inputHeight, Math.round(imageHeight * scale)));
  return {
    inputWidth,
    inputHeight,
    contentX: Math.floor((inputWidth - contentWidth) / 2),
    contentY: Math.floor((inputHeight - contentHeight) / 2),
    contentWidth,
    contentHeight,
  };
}

