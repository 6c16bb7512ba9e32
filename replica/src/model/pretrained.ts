/**
 * The pretrained ResNet18 that `npm run model:fetch` (or MODEL_FETCH=1) downloads: the ONNX Model Zoo's
 * resnet18-v2-7 (ImageNet top-1 ≈ 69.7 %, input `data` [N,3,224,224], ImageNet mean/std, logits out).
 * The checksum is that of the Git LFS object in github.com/onnx/models, so any other bytes are refused.
 */
export const PRETRAINED_RESNET18 = {
  name: 'resnet18',
  version: 'onnx-model-zoo/resnet18-v2-7',
  fileName: 'resnet18-v2-7.onnx',
  url: 'https://github.com/onnx/models/raw/main/validated/vision/classification/resnet/model/resnet18-v2-7.onnx',
  sha256: '3b4d048057854022232aa20bf68262e31718ab7119a17f920b8a2dc1433f824b',
  sizeBytes: 46_806_737,
} as const
