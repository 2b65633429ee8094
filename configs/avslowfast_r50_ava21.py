# AVSlowFast R50 4x16 on AVA v2.1: the v2.2 config with the v2.1 annotations
# and the 2018 (60-class) label map. Docs: docs/ava.md
_base_ = './avslowfast_r50_ava22.py'

anno_root = 'data/ava/annotations'
ann_file_train = f'{anno_root}/ava_train_v2.1.csv'
ann_file_val = f'{anno_root}/ava_val_v2.1.csv'
exclude_file_train = f'{anno_root}/ava_train_excluded_timestamps_v2.1.csv'
exclude_file_val = f'{anno_root}/ava_val_excluded_timestamps_v2.1.csv'
label_file = f'{anno_root}/ava_action_list_v2.1_for_activitynet_2018.pbtxt'

train_dataloader = dict(
    dataset=dict(
        ann_file=ann_file_train,
        exclude_file=exclude_file_train,
        label_file=label_file))
val_dataloader = dict(
    dataset=dict(
        ann_file=ann_file_val,
        exclude_file=exclude_file_val,
        label_file=label_file))
test_dataloader = val_dataloader

val_evaluator = dict(
    ann_file=ann_file_val, label_file=label_file,
    exclude_file=exclude_file_val)
test_evaluator = val_evaluator
