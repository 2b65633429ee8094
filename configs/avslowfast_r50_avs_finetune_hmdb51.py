# The UCF101 finetune config (configs/avslowfast_r50_avs_finetune_ucf101.py) on
# HMDB51, MMAction2's layout (tools/data/hmdb51). Docs: docs/self_supervised.md
#   mim train mmaction configs/avslowfast_r50_avs_finetune_hmdb51.py \
#       --gpus 8 --launcher pytorch
_base_ = './avslowfast_r50_avs_finetune_ucf101.py'

split = 1  # HMDB51 split (1, 2 or 3)
model = dict(cls_head=dict(num_classes=51))
data_root = 'data/hmdb51/videos'
data_root_val = data_root
ann_file_train = f'data/hmdb51/hmdb51_train_split_{split}_videos.txt'
ann_file_val = f'data/hmdb51/hmdb51_val_split_{split}_videos.txt'
ann_file_test = ann_file_val
train_dataloader = dict(
    dataset=dict(ann_file=ann_file_train, data_prefix=dict(video=data_root)))
val_dataloader = dict(
    dataset=dict(
        ann_file=ann_file_val, data_prefix=dict(video=data_root_val)))
test_dataloader = val_dataloader
