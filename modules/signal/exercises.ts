/** C-piscine style exercises the synthetic students work on. */
export interface Exercise {
  /** Matches EXERCISE_ID_PATTERN: module.exercise.function, or a project name. */
  readonly id: string;
  /** 0 = everyone passes, 1 = almost nobody does; shifts the expected score down. */
  readonly difficulty: number;
}

export const EXERCISES: readonly Exercise[] = Object.freeze([
  { id: "c00.ex00.my_putchar", difficulty: 0.05 },
  { id: "c00.ex03.my_is_negative", difficulty: 0.1 },
  { id: "c00.ex07.my_putnbr", difficulty: 0.35 },
  { id: "c01.ex00.ft_ft", difficulty: 0.08 },
  { id: "c01.ex03.ft_ultimate_div_mod", difficulty: 0.2 },
  { id: "c01.ex07.ft_rev_int_tab", difficulty: 0.3 },
  { id: "c02.ex00.ft_strcpy", difficulty: 0.2 },
  { id: "c02.ex08.ft_strlowcase", difficulty: 0.25 },
  { id: "c02.ex10.ft_strlcpy", difficulty: 0.45 },
  { id: "c03.ex01.ft_strncmp", difficulty: 0.35 },
  { id: "c03.ex05.ft_strlcat", difficulty: 0.55 },
  { id: "c04.ex03.ft_atoi", difficulty: 0.5 },
  { id: "c04.ex05.ft_atoi_base", difficulty: 0.7 },
  { id: "c05.ex02.ft_iterative_power", difficulty: 0.3 },
  { id: "c05.ex04.ft_fibonacci", difficulty: 0.4 },
  { id: "c05.ex08.ft_ten_queens_puzzle", difficulty: 0.8 },
  { id: "c06.ex02.ft_rev_params", difficulty: 0.25 },
  { id: "c07.ex03.ft_strjoin", difficulty: 0.6 },
  { id: "c08.ex04.ft_strs_to_tab", difficulty: 0.6 },
  { id: "rush00", difficulty: 0.4 },
  { id: "rush02", difficulty: 0.7 },
  { id: "bsq", difficulty: 0.9 },
]);
