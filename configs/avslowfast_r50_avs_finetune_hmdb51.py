# Full fine-tuning on HMDB51 of a self-supervised (AVS) pre-trained
# AVSlowFast R50: the whole network trains, a new linear head on the pooled
# Slow + Fast features. VISUAL-ONLY (HMDB51's AVI files often lack an audio
# track, unevenly across classes; see
# configs/avslowfast_r50_avs_linear_ucf101.py for why and for the
# audiovisual variant). Recipe, model and pipelines are inherited from
# configs/avslowfast_r50_avs_finetune_ucf101.py (PySlowFast's UCF101
# fine-tuning: SGD lr 0.005 for 64 clips, wd 1e-4, cosine over 200 epochs,
# dropout 0.5; PySlowFast has no HMDB51 recipe, the UCF101 one is used).
#
#   mim train mmaction configs/avslowfast_r50_avs_finetune_hmdb51.py \
#       --gpus 8 --launcher pytorch
#
# Split: `split` below (1, 2 or 3); edit it in this file (--cfg-options
# cannot change a parsed variable). Checkpoint: `pretrain_checkpoint` below
# or --cfg-options model.backbone.pretrained=/path/to/epoch_N.pth.
#
# Data: MMAction2's HMDB51 layout (tools/data/hmdb51):
#   data/hmdb51/videos/<class>/<name>.avi
#   data/hmdb51/hmdb51_{train,val}_split_{1,2,3}_videos.txt
_base_ = './avslowfast_r50_avs_finetune_ucf101.py'

split = 1  # HMDB51 split: 1, 2 or 3
pretrain_checkpoint = \
    'work_dirs/avslowfast_r50_avs_pretrain_kinetics/epoch_XX.pth'  # set XX

num_classes = 51
data_root = 'data/hmdb51/videos'
ann_file_train = f'data/hmdb51/hmdb51_train_split_{split}_videos.txt'
ann_file_val = f'data/hmdb51/hmdb51_val_split_{split}_videos.txt'

model = dict(
    backbone=dict(pretrained=pretrain_checkpoint),
    cls_head=dict(num_classes=num_classes))

train_dataloader = dict(
    dataset=dict(ann_file=ann_file_train, data_prefix=dict(video=data_root)))
val_dataloader = dict(
    dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root)))
test_dataloader = dict(
    dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root)))
