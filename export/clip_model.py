"""CLIP modules that load the official openai/CLIP checkpoints and script cleanly.

The module tree, parameter names and the order of every floating-point
operation follow the official ``clip/model.py`` (github.com/openai/CLIP), so
that a float32 CPU run gives bit-identical outputs to
``clip.load(path, device="cpu", jit=False)``.  The code here is written anew
with TorchScript in mind (``torch.jit.script`` on torch 1.13 and 2.x):

* no device, dtype or batch-size constants: the compute dtype is read at run
  time from ``visual.conv1.weight`` (the official ``CLIP.dtype``), the causal
  text mask is built per call on the activations' device and dtype;
* ``LayerNorm`` computes in float32 and casts back, so the official CUDA fp16
  layout (see :func:`half_param_names`) runs exactly as the official code;
* extra exported methods for a runtime that calls named methods:
  ``encode_image``, ``encode_text``, ``forward``, ``logits`` and
  ``logit_scale_exp``.

Nothing in this file downloads or reads files; see ``export.py``.
"""

import math
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "Bottleneck",
    "AttentionPool2d",
    "ModifiedResNet",
    "LayerNorm",
    "QuickGELU",
    "ResidualAttentionBlock",
    "Transformer",
    "VisionTransformer",
    "CLIP",
    "ARCH_KEYS",
    "METHODS",
    "derive_architecture",
    "build_model",
    "half_param_names",
    "apply_half_layout",
    "METADATA_KEYS",
]

#: Hyperparameters of :class:`CLIP` in constructor order.
ARCH_KEYS = (
    "embed_dim",
    "image_resolution",
    "vision_layers",
    "vision_width",
    "vision_patch_size",
    "context_length",
    "vocab_size",
    "transformer_width",
    "transformer_heads",
    "transformer_layers",
)

#: Methods a scripted :class:`CLIP` exposes.
METHODS = ("encode_image", "encode_image_u8", "encode_text", "forward", "logits", "logit_scale_exp")

#: int64 scalar buffers found in the released TorchScript archives; they are
#: not parameters of the model and are dropped before loading.
METADATA_KEYS = ("input_resolution", "context_length", "vocab_size")


def _l2norm(x: torch.Tensor) -> torch.Tensor:
    """L2 norm over the last dim, keepdim: what eager ``x.norm(dim=-1, keepdim=True)``
    computes (torch 1.13 routes it to frobenius_norm, 2.x to linalg.vector_norm; both
    give the same bits). ``Tensor.norm(dim=...)`` itself does not script."""
    return torch.linalg.vector_norm(x, 2.0, [-1], True)


class Bottleneck(nn.Module):
    """ResNet bottleneck block with an anti-aliasing average pool.

    Every convolution has stride 1; when ``stride > 1`` an average pool runs
    after the 3x3 convolution and in front of the 1x1 downsampling
    convolution.
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        out_planes = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu2 = nn.ReLU(inplace=True)
        self.avgpool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.conv3 = nn.Conv2d(planes, out_planes, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_planes)
        self.relu3 = nn.ReLU(inplace=True)
        self.stride = stride
        self.downsample: Optional[nn.Sequential] = None
        if stride > 1 or inplanes != out_planes:
            # key names "-1", "0", "1" are those of the official checkpoints
            self.downsample = nn.Sequential(OrderedDict([
                ("-1", nn.AvgPool2d(stride)),
                ("0", nn.Conv2d(inplanes, out_planes, 1, stride=1, bias=False)),
                ("1", nn.BatchNorm2d(out_planes)),
            ]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.avgpool(out)
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu3(out)
        return out


class AttentionPool2d(nn.Module):
    """QKV attention pooling of a feature map (the ResNet head).

    The query is the spatial mean token; the result is its attention output.
    """

    def __init__(self, spacial_dim: int, embed_dim: int, num_heads: int, output_dim: Optional[int] = None):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.randn(spacial_dim ** 2 + 1, embed_dim) / embed_dim ** 0.5)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.c_proj = nn.Linear(embed_dim, output_dim or embed_dim)
        self.num_heads = num_heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # NCHW -> (HW)NC
        x = x.reshape(x.shape[0], x.shape[1], x.shape[2] * x.shape[3]).permute(2, 0, 1)
        x = torch.cat([x.mean(dim=0, keepdim=True), x], dim=0)
        x = x + self.positional_embedding[:, None, :].to(x.dtype)
        out, _ = F.multi_head_attention_forward(
            query=x,
            key=x,
            value=x,
            embed_dim_to_check=x.shape[-1],
            num_heads=self.num_heads,
            in_proj_weight=None,
            in_proj_bias=torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias]),
            bias_k=None,
            bias_v=None,
            add_zero_attn=False,
            dropout_p=0.0,
            out_proj_weight=self.c_proj.weight,
            out_proj_bias=self.c_proj.bias,
            training=self.training,
            need_weights=False,
            use_separate_proj_weight=True,
            q_proj_weight=self.q_proj.weight,
            k_proj_weight=self.k_proj.weight,
            v_proj_weight=self.v_proj.weight,
        )
        return out[0]


class ModifiedResNet(nn.Module):
    """The CLIP ResNet image tower.

    Differences from torchvision's ResNet: a 3-convolution stem followed by
    an average pool, anti-aliased strided blocks (see :class:`Bottleneck`)
    and an attention-pooling head (:class:`AttentionPool2d`).
    """

    def __init__(self, layers: Sequence[int], output_dim: int, heads: int, input_resolution: int = 224, width: int = 64):
        super().__init__()
        self.output_dim = output_dim
        self.input_resolution = input_resolution
        half = width // 2
        self.conv1 = nn.Conv2d(3, half, kernel_size=3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(half)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(half, half, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(half)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv3 = nn.Conv2d(half, width, kernel_size=3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(width)
        self.relu3 = nn.ReLU(inplace=True)
        self.avgpool = nn.AvgPool2d(2)

        inplanes = width
        stages = []
        for i, blocks in enumerate(layers):
            planes = width * (2 ** i)
            stride = 1 if i == 0 else 2
            seq = [Bottleneck(inplanes, planes, stride)]
            inplanes = planes * Bottleneck.expansion
            for _ in range(1, blocks):
                seq.append(Bottleneck(inplanes, planes))
            stages.append(nn.Sequential(*seq))
        if len(stages) != 4:
            raise ValueError("ModifiedResNet needs 4 stage depths, got %d" % len(stages))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages

        embed_dim = width * 32  # channels after layer4
        self.attnpool = AttentionPool2d(input_resolution // 32, embed_dim, heads, output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.conv1.weight.dtype)
        x = self.relu1(self.bn1(self.conv1(x)))
        x = self.relu2(self.bn2(self.conv2(x)))
        x = self.relu3(self.bn3(self.conv3(x)))
        x = self.avgpool(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)
        x = self.attnpool(x)
        return x


class LayerNorm(nn.LayerNorm):
    """LayerNorm that computes in float32 and returns the input's dtype."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        orig_dtype = x.dtype
        y = F.layer_norm(x.to(torch.float32), self.normalized_shape, self.weight, self.bias, self.eps)
        return y.to(orig_dtype)


class QuickGELU(nn.Module):
    """The sigmoid approximation of GELU used by CLIP: x * sigmoid(1.702 x)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    """Pre-LayerNorm transformer block: attention then a QuickGELU MLP."""

    def __init__(self, d_model: int, n_head: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_head)
        self.ln_1 = LayerNorm(d_model)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(d_model, d_model * 4)),
            ("gelu", QuickGELU()),
            ("c_proj", nn.Linear(d_model * 4, d_model)),
        ]))
        self.ln_2 = LayerNorm(d_model)

    def forward(self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=attn_mask)[0]
        x = x + self.mlp(self.ln_2(x))
        return x


class Transformer(nn.Module):
    """A stack of :class:`ResidualAttentionBlock` on [L, N, D] input.

    With ``causal=True`` (the text tower) every block gets the additive
    causal mask (-inf above the diagonal, 0 elsewhere), built per call with
    the sequence length, dtype and device of the input.
    """

    def __init__(self, width: int, layers: int, heads: int, causal: bool = False):
        super().__init__()
        self.width = width
        self.layers = layers
        self.causal = causal
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads) for _ in range(layers)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask: Optional[torch.Tensor] = None
        if self.causal:
            n = x.shape[0]
            mask = torch.full((n, n), float("-inf"), dtype=x.dtype, device=x.device).triu_(1)
        for block in self.resblocks:
            x = block(x, mask)
        return x


class VisionTransformer(nn.Module):
    """The CLIP ViT image tower (class token, pre-LN, projection)."""

    def __init__(self, input_resolution: int, patch_size: int, width: int, layers: int, heads: int, output_dim: int):
        super().__init__()
        self.input_resolution = input_resolution
        self.output_dim = output_dim
        self.conv1 = nn.Conv2d(in_channels=3, out_channels=width, kernel_size=patch_size, stride=patch_size, bias=False)
        scale = width ** -0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((input_resolution // patch_size) ** 2 + 1, width))
        self.ln_pre = LayerNorm(width)
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, output_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)  # [N, width, grid, grid]
        x = x.reshape(x.shape[0], x.shape[1], -1)  # [N, width, grid**2]
        x = x.permute(0, 2, 1)  # [N, grid**2, width]
        cls = self.class_embedding.to(x.dtype) + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype, device=x.device)
        x = torch.cat([cls, x], dim=1)
        x = x + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x)
        x = x.permute(1, 0, 2)  # NLD -> LND
        x = self.transformer(x)
        x = x.permute(1, 0, 2)  # LND -> NLD
        x = self.ln_post(x[:, 0, :])
        x = x @ self.proj
        return x


class CLIP(nn.Module):
    """Contrastive image/text model with the official state_dict layout.

    Constructor arguments are the ones of the official ``clip.model.CLIP``;
    ``vision_layers`` is a list of 4 stage depths for the ResNets and an int
    for the ViTs.
    """

    def __init__(self,
                 embed_dim: int,
                 image_resolution: int,
                 vision_layers: Union[Sequence[int], int],
                 vision_width: int,
                 vision_patch_size: Optional[int],
                 context_length: int,
                 vocab_size: int,
                 transformer_width: int,
                 transformer_heads: int,
                 transformer_layers: int):
        super().__init__()
        self.context_length = context_length
        self.vocab_size = vocab_size
        self.embed_dim = embed_dim
        self.image_resolution = image_resolution

        if isinstance(vision_layers, (tuple, list)):
            self.visual = ModifiedResNet(
                layers=list(vision_layers),
                output_dim=embed_dim,
                heads=vision_width * 32 // 64,
                input_resolution=image_resolution,
                width=vision_width,
            )
        else:
            if vision_patch_size is None:
                raise ValueError("a ViT needs vision_patch_size")
            self.visual = VisionTransformer(
                input_resolution=image_resolution,
                patch_size=vision_patch_size,
                width=vision_width,
                layers=vision_layers,
                heads=vision_width // 64,
                output_dim=embed_dim,
            )

        self.transformer = Transformer(transformer_width, transformer_layers, transformer_heads, causal=True)
        self.token_embedding = nn.Embedding(vocab_size, transformer_width)
        self.positional_embedding = nn.Parameter(torch.empty(context_length, transformer_width))
        self.ln_final = LayerNorm(transformer_width)
        self.text_projection = nn.Parameter(torch.empty(transformer_width, embed_dim))
        self.logit_scale = nn.Parameter(torch.ones([]) * math.log(1 / 0.07))
        self.initialize_parameters()

    def initialize_parameters(self) -> None:
        """The official initialisation (normal std values of clip/model.py)."""
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        if isinstance(self.visual, ModifiedResNet):
            pool = self.visual.attnpool
            std = pool.c_proj.in_features ** -0.5
            for lin in (pool.q_proj, pool.k_proj, pool.v_proj, pool.c_proj):
                nn.init.normal_(lin.weight, std=std)
            for stage in (self.visual.layer1, self.visual.layer2, self.visual.layer3, self.visual.layer4):
                for name, param in stage.named_parameters():
                    if name.endswith("bn3.weight"):
                        nn.init.zeros_(param)
        width = self.transformer.width
        proj_std = (width ** -0.5) * ((2 * self.transformer.layers) ** -0.5)
        attn_std = width ** -0.5
        fc_std = (2 * width) ** -0.5
        for block in self.transformer.resblocks:
            nn.init.normal_(block.attn.in_proj_weight, std=attn_std)
            nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
            nn.init.normal_(block.mlp.c_fc.weight, std=fc_std)
            nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)
        nn.init.normal_(self.text_projection, std=width ** -0.5)

    @torch.jit.export
    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        """Image features [N, embed_dim] (unnormalised) from pixels [N, 3, R, R]."""
        return self.visual(image.to(self.visual.conv1.weight.dtype))

    @torch.jit.export
    def encode_image_u8(self, pixels: torch.Tensor) -> torch.Tensor:
        """Image features from resized, cropped RGB pixels uint8 [N, R, R, 3].

        Applies the reference transform's last two steps (ToTensor, then
        Normalize) bit for bit: their float32 arithmetic runs once on the CPU
        for the 3x256 possible byte values, exactly as torchvision computes
        it, and the table is then looked up on the model's device. (Doing the
        arithmetic on a GPU would not be exact: CUDA kernels divide by a
        scalar through its reciprocal.) A quarter of the bytes of float32
        pixels cross to the device; the result equals encode_image on the
        normalised tensor.
        """
        if pixels.dim() != 4 or pixels.shape[3] != 3 or pixels.dtype != torch.uint8:
            raise ValueError("encode_image_u8: pixels must be uint8 [N, R, R, 3]")
        values = torch.arange(256, dtype=torch.float32).div(255)
        mean = torch.tensor([0.48145466, 0.4578275, 0.40821073], dtype=torch.float32)
        std = torch.tensor([0.26862954, 0.26130258, 0.27577711], dtype=torch.float32)
        table = values[None, :].sub(mean[:, None]).div(std[:, None]).reshape(-1).to(pixels.device)
        offsets = torch.tensor([0, 256, 512], dtype=torch.int64, device=pixels.device)
        x = table.take(pixels.to(torch.int64) + offsets).permute(0, 3, 1, 2).contiguous()
        return self.encode_image(x)

    @torch.jit.export
    def encode_text(self, text: torch.Tensor) -> torch.Tensor:
        """Text features [N, embed_dim] (unnormalised) from tokens [N, L].

        Tokens are int32 or int64 with L <= context_length (the official
        model needs L == context_length; a shorter L gives the same values
        up to rounding thanks to the causal mask). The feature of each row is
        taken at its first maximal token (the first end-of-text token).
        """
        if text.dim() != 2:
            raise ValueError("encode_text: tokens must be 2-D [batch, length]")
        if text.shape[1] > self.context_length:
            raise ValueError("encode_text: token length exceeds the context length")
        dtype = self.visual.conv1.weight.dtype
        x = self.token_embedding(text).to(dtype)  # [N, L, D]
        x = x + self.positional_embedding[: text.shape[1]].to(dtype)
        x = x.permute(1, 0, 2)  # NLD -> LND
        x = self.transformer(x)
        x = x.permute(1, 0, 2)  # LND -> NLD
        x = self.ln_final(x).to(dtype)
        rows = torch.arange(x.shape[0], device=x.device)
        x = x[rows, text.argmax(dim=-1)] @ self.text_projection
        return x

    def forward(self, image: torch.Tensor, text: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(logits_per_image [N_img, N_txt], logits_per_text [N_txt, N_img])."""
        image_features = self.encode_image(image)
        text_features = self.encode_text(text)
        image_features = image_features / _l2norm(image_features)
        text_features = text_features / _l2norm(text_features)
        logit_scale = self.logit_scale.exp()
        logits_per_image = logit_scale * image_features @ text_features.t()
        logits_per_text = logits_per_image.t()
        return logits_per_image, logits_per_text

    @torch.jit.export
    def logits(self, image_features: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
        """logits_per_image from precomputed (unnormalised) features, as forward does."""
        image_features = image_features / _l2norm(image_features)
        text_features = text_features / _l2norm(text_features)
        logit_scale = self.logit_scale.exp()
        return logit_scale * image_features @ text_features.t()

    @torch.jit.export
    def logit_scale_exp(self) -> torch.Tensor:
        """exp(logit_scale) as a 0-dim tensor."""
        return self.logit_scale.exp()


def _count_blocks(keys: Sequence[str], prefix: str) -> int:
    """Number of distinct block indices k in keys "<prefix>.<k>.…"."""
    n = prefix.count(".") + 1
    return len({k.split(".")[n] for k in keys if k.startswith(prefix + ".")})


def derive_architecture(state_dict: Dict[str, torch.Tensor]) -> Dict[str, object]:
    """Hyperparameters of a CLIP state_dict, derived as the official build_model does.

    Returns a dict with the :data:`ARCH_KEYS` plus ``vision_heads`` and
    ``family`` ("vit" or "resnet"). Raises ValueError when keys are missing.
    """
    try:
        keys = list(state_dict.keys())
        if "visual.proj" in state_dict:
            conv1 = state_dict["visual.conv1.weight"]
            vision_width = int(conv1.shape[0])
            vision_layers: Union[int, List[int]] = len(
                [k for k in keys if k.startswith("visual.") and k.endswith(".attn.in_proj_weight")])
            vision_patch_size: Optional[int] = int(conv1.shape[-1])
            grid = round((state_dict["visual.positional_embedding"].shape[0] - 1) ** 0.5)
            image_resolution = vision_patch_size * grid
            vision_heads = vision_width // 64
            family = "vit"
        else:
            vision_layers = [_count_blocks(keys, "visual.layer%d" % b) for b in (1, 2, 3, 4)]
            vision_width = int(state_dict["visual.layer1.0.conv1.weight"].shape[0])
            n_pos = int(state_dict["visual.attnpool.positional_embedding"].shape[0])
            out_w = round((n_pos - 1) ** 0.5)
            if out_w ** 2 + 1 != n_pos:
                raise ValueError("visual.attnpool.positional_embedding has %d rows, not a square + 1" % n_pos)
            vision_patch_size = None
            image_resolution = out_w * 32
            vision_heads = vision_width * 32 // 64
            family = "resnet"
        transformer_width = int(state_dict["ln_final.weight"].shape[0])
        arch = {
            "embed_dim": int(state_dict["text_projection"].shape[1]),
            "image_resolution": int(image_resolution),
            "vision_layers": vision_layers,
            "vision_width": vision_width,
            "vision_patch_size": vision_patch_size,
            "context_length": int(state_dict["positional_embedding"].shape[0]),
            "vocab_size": int(state_dict["token_embedding.weight"].shape[0]),
            "transformer_width": transformer_width,
            "transformer_heads": transformer_width // 64,
            "transformer_layers": _count_blocks(keys, "transformer.resblocks"),
            "vision_heads": vision_heads,
            "family": family,
        }
    except KeyError as e:
        raise ValueError("not a CLIP state_dict: missing key %s" % e) from None
    except (AttributeError, IndexError, TypeError) as e:
        raise ValueError("not a CLIP state_dict: %s" % e) from None
    if arch["transformer_heads"] < 1 or arch["vision_heads"] < 1:
        raise ValueError("not a CLIP state_dict: widths below 64 give no attention heads")
    if family == "resnet" and 0 in arch["vision_layers"]:
        raise ValueError("not a CLIP state_dict: a ResNet stage has no blocks")
    return arch


def build_model(arch: Dict[str, object]) -> CLIP:
    """A float32 :class:`CLIP` (eval mode) with the given hyperparameters.

    Heads are derived from the widths like the official code; the
    ``vision_heads``/``family`` entries, if present, are not used.
    """
    kwargs = {k: arch[k] for k in ARCH_KEYS}
    if isinstance(kwargs["vision_layers"], (list, tuple)):
        kwargs["vision_layers"] = list(kwargs["vision_layers"])
    return CLIP(**kwargs).eval()


def half_param_names(model: nn.Module) -> List[str]:
    """State_dict names that the official convert_weights() turns to float16.

    Conv1d/Conv2d/Linear weight and bias (the MultiheadAttention out_proj is
    a Linear), MultiheadAttention in/q/k/v projection weights, in_proj_bias,
    bias_k, bias_v, and any ``text_projection`` or ``proj`` tensor attribute.
    LayerNorm, BatchNorm, embeddings and logit_scale stay float32.
    """
    names: List[str] = []
    for prefix, mod in model.named_modules():
        p = prefix + "." if prefix else ""
        attrs: List[str] = []
        if isinstance(mod, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            attrs += ["weight", "bias"]
        if isinstance(mod, nn.MultiheadAttention):
            attrs += ["in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight",
                      "in_proj_bias", "bias_k", "bias_v"]
        attrs += ["text_projection", "proj"]
        for a in attrs:
            t = getattr(mod, a, None)
            if isinstance(t, torch.Tensor) and p + a not in names:
                names.append(p + a)
    return names


def apply_half_layout(model: nn.Module, names: Optional[Sequence[str]] = None) -> nn.Module:
    """Cast the given parameters (default: half_param_names) to float16 in place.

    This reproduces the official CUDA layout after convert_weights(): the
    result runs the mixed float16/float32 code path of the official model.
    Returns the model.
    """
    if names is None:
        names = half_param_names(model)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name in names:
            p = params[name]
            p.data = p.data.half()
    return model
