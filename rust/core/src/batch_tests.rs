//! Parts of a trades batch: locating rows, and joining parts into one.

use super::*;

fn names() -> InstrumentDict {
    InstrumentDict::Names(vec!["BTC-27DEC24-100000-C".into()])
}

#[test]
fn rows_are_found_in_their_part_in_any_order() {
    let dict = names();
    let ts: Vec<i64> = (0..10).collect();
    let (inst, side, amount) = ([0i32; 10], [1i8; 10], [1.0; 10]);
    let part = |lo: usize, hi: usize| TradeCols {
        ts: &ts[lo..hi],
        inst: &inst[lo..hi],
        inst_lut: None,
        side: &side[lo..hi],
        amount: &amount[lo..hi],
        index_price: None,
        iv: None,
        trade_id: None,
    };
    // Empty parts at the start, inside and at the end.
    let b = TradeBatch::new(
        &dict,
        vec![
            part(0, 0),
            part(0, 3),
            part(3, 3),
            part(3, 7),
            part(7, 10),
            part(10, 10),
        ],
    );
    assert_eq!(b.len(), 10);
    let mut cursor = PartCursor::default();
    let forward: Vec<(usize, usize)> = (0..10).map(|r| cursor.locate(&b, r)).collect();
    let backward: Vec<(usize, usize)> = (0..10).rev().map(|r| cursor.locate(&b, r)).collect();
    for r in 0..10 {
        let (p, j) = b.locate(r);
        assert_eq!(b.parts[p].ts[j], r as i64);
        assert_eq!(forward[r], (p, j));
        assert_eq!(backward[9 - r], (p, j));
        assert_eq!(b.ts_at(r), r as i64);
    }
    assert_eq!(cursor.within(9), None, "the cursor ended in the first part");
    assert_eq!(cursor.within(1), Some(1));
}

#[test]
fn joined_parts_keep_every_value_and_mark_what_a_part_lacked() {
    let dict = names();
    let ts = [1i64, 2, 3, 4, 5];
    let inst = [0i32; 5];
    let side = [1i8, -1, 1, -1, 1];
    let amount = [1.0, 2.0, 3.0, 4.0, 5.0];
    let iv = [0.5, 0.6, f64::NAN];
    let iv_valid = [true, true, false];
    // String ids whose offsets do not start at 0 (a slice of a larger Arrow array).
    let data = b"xxab7c";
    let offsets = [2i64, 3, 4];
    let first = TradeCols {
        ts: &ts[..2],
        inst: &inst[..2],
        inst_lut: None,
        side: &side[..2],
        amount: &amount[..2],
        index_price: None,
        iv: Some(OptF64 {
            values: &iv[..2],
            valid: None,
        }),
        trade_id: Some(TradeIds::Str {
            offsets: &offsets,
            data,
            valid: None,
        }),
    };
    let more = [7i64, 8];
    let second = TradeCols {
        ts: &ts[2..],
        inst: &inst[2..],
        inst_lut: None,
        side: &side[2..],
        amount: &amount[2..],
        index_price: None,
        iv: Some(OptF64 {
            values: &[0.7, 0.8, f64::NAN],
            valid: Some(&iv_valid),
        }),
        trade_id: None,
    };
    let b = TradeBatch::new(&dict, vec![first, second]);
    let j = JoinedTrades::of(&b).unwrap();
    let v = j.view(&dict);
    let c = &v.parts[0];
    assert_eq!(v.parts.len(), 1);
    assert_eq!((c.ts, c.side, c.amount), (&ts[..], &side[..], &amount[..]));
    assert!(c.index_price.is_none(), "no part had index prices");
    let iv = c.iv.unwrap();
    assert_eq!(
        (0..5).map(|i| iv.get(i)).collect::<Vec<_>>(),
        vec![Some(0.5), Some(0.6), Some(0.7), Some(0.8), None]
    );
    let Some(TradeIds::Str {
        offsets,
        data,
        valid,
    }) = c.trade_id
    else {
        panic!("string ids stay strings")
    };
    assert_eq!(&data[offsets[0] as usize..offsets[1] as usize], b"a");
    assert_eq!(&data[offsets[1] as usize..offsets[2] as usize], b"b");
    assert_eq!(
        valid,
        Some(&[true, true, false, false, false][..]),
        "the second part had no ids"
    );
    // Integer ids in one part and strings in another cannot be one column.
    let ints = TradeCols {
        trade_id: Some(TradeIds::Int {
            values: &more,
            valid: None,
        }),
        ts: &ts[..2],
        inst: &inst[..2],
        side: &side[..2],
        amount: &amount[..2],
        ..first
    };
    assert!(JoinedTrades::of(&TradeBatch::new(&dict, vec![first, ints])).is_err());
}
